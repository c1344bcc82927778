"""utils.evals.reported: source kinds, disagreements between sources, and the bar chart."""

import matplotlib

matplotlib.use("Agg")  # no display needed

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from utils.datasets import (  # noqa: E402
    load_arena_hard_baseline,
    load_arena_hard_questions,
    load_reported_benchmarks,
)
from utils.evals.arena_hard import (  # noqa: E402
    ARENA_HARD_BASELINE,
    load_arena_hard_answers,
    load_arena_hard_battles,
    load_arena_hard_leaderboard,
)
from utils.evals.reported import (  # noqa: E402
    grouped_bars,
    source_disagreements,
    source_kind,
)


def test_source_kind_says_who_ran_the_number():
    deepseek = "github:deepseek-ai/DeepSeek-V3@06dbd30 README.md (= arXiv 2412.19437 tables)"
    assert source_kind("DeepSeek-V3", deepseek) == "its makers"
    assert source_kind("Claude-3.5-Sonnet-1022", deepseek) == "a competitor (DeepSeek)"
    assert source_kind("Llama-3.1-405B", "arXiv 2412.15115 Table 6") == "a competitor (Qwen)"
    assert source_kind("Qwen2.5-72B", "arXiv 2412.15115 Table 6") == "its makers"
    assert source_kind("Unknown-7B", deepseek) == "a competitor (DeepSeek)"
    assert source_kind("Qwen2.5-Max", "NOT FOUND: image only") == "not found"
    compiled = "github:x/y LLM_BENCHMARKS.md (secondary); also deepseek-ai/DeepSeek-V3"
    assert source_kind("GPT-4o", compiled) == "third-party compilation"  # only the first part
    livebench = "github:LiveBench/livebench.github.io@4bf96c8 public/table_2025_04_25.csv"
    assert source_kind("Qwen2.5-Max", livebench) == "a third party's own run (LiveBench)"


def test_source_kind_puts_no_committed_row_in_the_wrong_class():
    rows = pd.concat([load_reported_benchmarks("instruct"), load_reported_benchmarks("base")])
    kinds = {(m, source_kind(m, s)) for m, s in zip(rows["model"], rows["source"], strict=True)}
    assert ("GPT-4o-2024-08-06", "third-party compilation") in kinds
    assert not any(k == "its makers" for m, k in kinds if m.startswith(("Claude", "GPT", "Llama")))
    assert {k for m, k in kinds if m == "Qwen2.5-Max"} == {"not found", "third-party compilation"}


def test_disagreements_pair_up_rows_listed_twice():
    reported = pd.DataFrame(
        {
            "model": ["m", "m", "m", "n"],
            "benchmark": ["b1", "b1", "b2", "b1"],
            "score": [50.0, 57.5, 60.0, 70.0],
            "source": ["s1", "s2", "s1", "s1"],
        }
    )
    gaps = source_disagreements(reported)
    assert len(gaps) == 1
    row = gaps.iloc[0]
    assert (row["model"], row["benchmark"], row["gap"]) == ("m", "b1", 7.5)
    assert (row["source_1"], row["source_2"]) == ("s1", "s2")


def test_the_base_table_disagrees_most_on_mbpp():
    gaps = source_disagreements(load_reported_benchmarks("base"))
    assert (gaps.iloc[0]["model"], gaps.iloc[0]["benchmark"]) == ("Qwen2.5-72B (base)", "MBPP")
    assert list(gaps["gap"].abs()) == sorted(gaps["gap"].abs(), reverse=True)
    assert source_disagreements(load_reported_benchmarks("instruct")).empty


def test_blank_scores_are_marked_not_drawn():
    scores = pd.DataFrame(
        {
            "model": ["x", "y", "x", "y"],
            "benchmark": ["b1", "b1", "b2", "b2"],
            "score": [80.0, float("nan"), 60.0, 55.0],
            "hatch": ["", "", "//", ""],
        }
    )
    ax = grouped_bars(scores, "t", hatches={"//": "another version"})
    assert len(ax.patches) == 3  # three bars; the blank one is text
    assert [t.get_text() for t in ax.texts] == ["not transcribed"]
    assert [p.get_hatch() for p in ax.patches].count("//") == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "another version"]


def test_arena_hard_battles_are_the_stored_file():
    battles = load_arena_hard_battles()
    assert list(battles.columns) == ["question_id", "model_a", "model_b", "winner"]
    assert len(battles) == 1348 and set(battles["model_a"]) == {"claude-3-haiku-20240307"}
    assert set(battles["model_b"]) == {
        "claude-3-5-sonnet-20240620",
        "claude-3-opus-20240229",
        "gpt-4o",
    }


def test_arena_hard_answers_by_uid_and_a_clear_error_for_others():
    questions = {q["uid"] for q in load_arena_hard_questions()}
    turbo, baseline = (
        load_arena_hard_answers("gpt-3.5-turbo-0125"),
        load_arena_hard_answers("gpt-4-0314"),
    )
    assert set(turbo) == set(baseline) == questions
    assert all(isinstance(text, str) and text for text in turbo.values())
    assert baseline == load_arena_hard_baseline()
    with pytest.raises(ValueError, match="gpt-3.5-turbo-0125"):
        load_arena_hard_answers("qwen-max")


def test_arena_hard_leaderboard_has_scores_inside_their_intervals():
    board = load_arena_hard_leaderboard()
    assert len(board) == 60 and board.index.is_unique
    assert board.loc[ARENA_HARD_BASELINE, ["score", "low", "high"]].tolist() == [50.0, 50.0, 50.0]
    assert ((board["low"] <= board["score"]) & (board["score"] <= board["high"])).all()
    assert board.loc["gpt-3.5-turbo-0125", "score"] == 23.34

"""utils.evals.reported: source kinds, disagreements between sources, and the bar chart."""

import matplotlib

matplotlib.use("Agg")  # no display needed

import pandas as pd  # noqa: E402

from utils.datasets import load_reported_benchmarks  # noqa: E402
from utils.evals.reported import grouped_bars, source_disagreements, source_kind  # noqa: E402


def test_source_kind():
    assert source_kind("NOT FOUND in stored sources (blog image only)") == "not transcribed"
    assert source_kind("github:x/y LLM_BENCHMARKS.md (secondary; snapshot)") == "secondary"
    assert source_kind("github:deepseek-ai/DeepSeek-V3@06dbd30 README.md") == "primary"


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

"""The data files are the ones vetted, and the loaders parse them correctly."""

import hashlib

import pandas as pd
import pytest

from utils import datasets
from utils.paths import data_dir


def test_copied_files_match_their_checksums():
    lines = (data_dir() / "SHA256SUMS").read_text().splitlines()
    assert len(lines) > 70
    for line in lines:
        digest, name = line.split(maxsplit=1)
        path = data_dir() / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{name} changed"


@pytest.mark.parametrize(
    ("loader", "rows"),
    [
        (datasets.load_humaneval, 164),
        (datasets.load_gsm8k, 1319),
        (datasets.load_mmlu_pro, 140),
        (datasets.load_arena_hard_questions, 500),
        (datasets.load_arena_hard_baseline, 500),
        (datasets.load_hh_rlhf, 2312),
        (datasets.load_mmlu_dev, 285),
    ],
)
def test_row_counts(loader, rows):
    assert len(loader()) == rows


def test_humaneval_fields():
    problem = datasets.load_humaneval()[0]
    assert problem["task_id"] == "HumanEval/0" and problem["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in problem["test"]


def test_gsm8k_final_answers():
    rows = datasets.load_gsm8k()
    assert rows[0]["final_answer"] == 18 and rows[1]["final_answer"] == 3
    assert datasets.gsm8k_final_answer("so...\n#### 1,234") == 1234
    assert datasets.gsm8k_final_answer("#### -5") == -5
    with pytest.raises(ValueError, match="####"):
        datasets.gsm8k_final_answer("The answer is 5.")


def test_mmlu_pro_answers_are_letters_of_their_options():
    for row in datasets.load_mmlu_pro():
        assert 3 <= len(row["options"]) <= 10
        assert row["answer"] == "ABCDEFGHIJ"[row["answer_index"]]
    categories = pd.Series([r["category"] for r in datasets.load_mmlu_pro()]).value_counts()
    assert len(categories) == 14 and (categories == 10).all()


def test_mmlu_dev_has_57_subjects_with_letter_answers():
    frame = datasets.load_mmlu_dev()
    assert frame.subject.nunique() == 57 and set(frame.answer) <= set("ABCD")


def test_arena_hard_baseline_answers_every_question():
    questions = datasets.load_arena_hard_questions()
    baseline = datasets.load_arena_hard_baseline()
    assert {q["uid"] for q in questions} == set(baseline)
    assert all(isinstance(text, str) and text for text in baseline.values())


def test_hh_transcripts_split_into_messages():
    pair = datasets.load_hh_rlhf()[0]
    messages = datasets.split_hh_transcript(pair["chosen"])
    assert messages[0]["role"] == "user" and messages[-1]["role"] == "assistant"
    assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2)
    text = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Bye\n\nAssistant: See you."
    assert datasets.split_hh_transcript(text) == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
        {"role": "assistant", "content": "See you."},
    ]


def test_reported_benchmarks_keep_blanks_blank():
    instruct = datasets.load_reported_benchmarks("instruct")
    assert list(instruct.columns) == ["model", "benchmark", "score", "source"]
    qwen = instruct[instruct.model == "Qwen2.5-Max"].set_index("benchmark")
    assert qwen.loc["MMLU-Pro", "score"] == 76.1
    assert pd.isna(qwen.loc["Arena-Hard", "score"])
    assert qwen.loc["Arena-Hard", "source"].startswith("NOT FOUND")
    assert instruct.source.notna().all()
    assert len(datasets.load_reported_benchmarks("base")) > 40
    with pytest.raises(ValueError):
        datasets.load_reported_benchmarks("chat")

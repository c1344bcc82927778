"""utils.evals.mcq: the multiple-choice prompt and reading the chosen letter."""

import numpy as np
import pandas as pd
import pytest

from utils.datasets import load_mmlu_pro
from utils.evals import LETTERS, extract_choice, format_mcq
from utils.evals.mcq import letter_bias, letter_counts


def test_format_mcq_letters_every_option_in_order():
    messages = format_mcq("Which is a prime?", ["4", "6", "7"], subject="high_school_math")
    assert [m["role"] for m in messages] == ["user"]
    text = messages[0]["content"]
    assert "about high school math" in text
    assert "Question: Which is a prime?" in text
    assert text.index("A. 4") < text.index("B. 6") < text.index("C. 7")
    assert "D." not in text
    assert '"The answer is (X)"' in text


def test_format_mcq_takes_all_ten_mmlu_pro_options():
    item = next(q for q in load_mmlu_pro() if len(q["options"]) == 10)
    text = format_mcq(item["question"], item["options"], item["category"])[0]["content"]
    assert all(f"\n{letter}. " in text for letter in LETTERS)


@pytest.mark.parametrize(
    "options", [["only one"], [str(i) for i in range(11)], ["fine", "  "]], ids=["1", "11", "blank"]
)
def test_format_mcq_rejects_bad_options(options):
    with pytest.raises(ValueError):
        format_mcq("Q?", options)


# Realistic model outputs and the letter a careful human grader would read (None: no choice).
CASES = [
    ("The answer is (C).", 10, "C"),
    ("The answer is D. Codominance of two genes", 10, "D"),
    ("The correct answer is D. 92.5 g", 10, "D"),
    ("Answer: C", 10, "C"),
    ("Answer: I think it is B.", 10, None),  # "I" the pronoun is not option I
    ("To answer I need more context.", 10, None),
    ("The answer is C and I am confident.", 10, "C"),
    ("The answer is J, I think.", 10, "J"),
    ("The answer is I because the others are wrong.", 10, "I"),
    ("The answer is (I).", 10, "I"),
    ("**Answer:** B", 10, "B"),
    ("The correct answer is **(E)**", 10, "E"),
    ("Option A is wrong because of X. Option C fits best. The answer is (C).", 10, "C"),
    ("The answer is (A). Wait, let me re-check: the answer is (B).", 10, "B"),
    ("D", 10, "D"),
    ("(D)", 10, "D"),
    ("C. Ribosome", 10, "C"),
    ("A. An opponent of consumerism in the 1960s", 10, "A"),
    ("The answer is: (J) none of the above", 10, "J"),
    ("The answer is C because the ribosome is universal.", 10, "C"),
    ("I think the answer is probably B.", 10, "B"),
    ("The correct option is G", 10, "G"),
    ("The answer to this question is (H).", 10, "H"),
    ("Option B is correct.", 10, "B"),
    ("Let me reason step by step.\n...\nTherefore $\\boxed{F}$", 10, "F"),
    ("The answer is D.", 4, "D"),
    # No clear choice: None, never a guess.
    ("The answer is D.", 3, None),  # only A-C exist
    ("The answer is (K).", 10, None),  # no option K
    ("The answer is (A) or (B).", 10, None),
    ("Answer: A, B and C are all plausible.", 10, None),
    ("I cannot determine the answer.", 10, None),
    ("The answer is a matter of debate.", 10, None),
    ("A good question! Ribosomes probably came first.", 10, None),
    ("Vitamin C is correct for scurvy.", 10, None),
    ("A. Polygenic inheritance without any modifiers\nB. Genetic drift", 10, None),  # a list
    ("A. aaab\nThe output of the code is 'aaab'.", 10, "A"),
    ("The answer is not C.", 10, None),
    ("  d ", 10, None),
    ("", 10, None),
    (None, 10, None),
]


@pytest.mark.parametrize("text, n_options, expected", CASES)
def test_extract_choice_reads_like_a_careful_grader(text, n_options, expected):
    assert extract_choice(text, n_options) == expected


def test_extract_choice_rejects_impossible_option_counts():
    with pytest.raises(ValueError):
        extract_choice("The answer is (A).", 11)


def test_letter_counts_and_bias():
    choices, answers = ["D", "D", None, "A"], ["A", "B", "C", "D"]
    table = letter_counts(choices, answers)
    assert list(table.columns) == ["A", "B", "C", "D", "none"]
    assert table.loc["chosen"].to_dict() == {"A": 1, "B": 0, "C": 0, "D": 2, "none": 1}
    assert table.loc["correct answer"].sum() == 4
    assert letter_bias(choices, answers) == (
        "most chosen letter: D (50% of answers); always answering D would score 25.0% on this sample"
    )


def test_no_readable_answer_is_reported_not_a_crash():
    """Issue 13: with no parsable answer the letter histogram crashed (argmax of nothing)."""
    choices = pd.Series([None, np.nan, None], dtype=object)  # as a DataFrame column holds them
    table = letter_counts(choices, ["A", "B", "J"])
    assert table.loc["chosen"].to_dict() == {"A": 0, "B": 0, "J": 0, "none": 3}
    assert letter_bias(choices, ["A", "B", "J"]).startswith("no answer had a readable letter (0 of 3)")

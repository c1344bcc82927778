"""Verifiable rewards (final number, exact match) and the best-of-n expectation."""

from itertools import combinations

import numpy as np
import pytest

from utils.datasets import load_gsm8k
from utils.rlhf import best_of_n_curve, exact_match_reward, expected_best_of_n, extract_number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("The answer is 18.", 18.0),
        ("She has 1,234 apples.", 1234.0),
        ("It costs $1,000.50 in total", 1000.5),
        ("Steps: 1,2,3 and then 7", 7.0),  # a list, not 123
        ("5-3=2", 2.0),  # a minus between numbers is not a sign
        ("#### -7", -7.0),
        ("so x = -3", -3.0),
        ("First 4 + 5 = 9. The answer is 9, not 10.", 9.0),  # 'answer is' beats the last number
        ("\\boxed{42} (checked with 5 examples)", 42.0),
        ("It takes 3.5 hours.", 3.5),
        ("48 clips in April.\n#### 72", 72.0),
        ("The answer is: 12. Because 5 + 7", 12.0),
        ("The answer is **12**, since 5 + 7", 12.0),
        ("Answer: $1,250 in 3 days", 1250.0),
        ("Answer: 48 / 2 = 24", 24.0),  # the result, not the first number of the sum
        ("The answer is 5 + 7 = 12. Easy.", 12.0),
        ("I will answer 3 questions. Total is 20.", 20.0),  # "answer 3" states no answer
        ("So the answer is -$5 overall.", -5.0),
    ],
)
def test_extract_number(text, number):
    assert extract_number(text) == number


@pytest.mark.parametrize("text", ["", None, "I don't know.", "twelve"])
def test_no_number_is_none_not_a_crash(text):
    assert extract_number(text) is None


def test_every_gsm8k_reference_solution_earns_its_reward():
    rows = load_gsm8k()
    assert all(exact_match_reward(row["answer"], row["final_answer"]) == 1.0 for row in rows)


def test_exact_match_reward():
    assert exact_match_reward("So she pays $18.", 18) == 1.0
    assert exact_match_reward("So she pays $18.5", 18) == 0.0
    assert exact_match_reward("no idea", 18) == 0.0
    assert exact_match_reward("18.0000001", 18) == 1.0  # within 1e-6


def test_expected_best_of_n_by_hand_and_by_brute_force():
    scores = [0.3, -1.0, 2.0, 0.5]
    assert expected_best_of_n(scores, 1) == pytest.approx(np.mean(scores))
    assert expected_best_of_n(scores, 4) == pytest.approx(2.0)
    for n in (2, 3):
        brute = np.mean([max(c) for c in combinations(scores, n)])
        assert expected_best_of_n(scores, n) == pytest.approx(brute)
    curve = best_of_n_curve(scores)
    assert len(curve) == 4 and np.all(np.diff(curve) >= 0)  # never worse with more samples
    # 0/1 rewards: the unbiased pass@n = 1 - C(N-c, n) / C(N, n); N=6 answers, c=2 correct
    assert expected_best_of_n([1, 0, 0, 1, 0, 0], 2) == pytest.approx(1 - 6 / 15)
    with pytest.raises(ValueError, match="between 1"):
        expected_best_of_n(scores, 5)

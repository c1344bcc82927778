"""Paired comparisons: per-prompt differences, their interval and the exact sign test."""

from math import comb

import numpy as np
import pandas as pd
import pytest

from utils.evals.paired import compare_paired, paired_differences, sign_test


def brute_force_sign_test(better: int, worse: int) -> float:
    """Two-sided: total probability of every split at most as likely as the one seen."""
    n = better + worse
    seen = comb(n, better)
    return sum(comb(n, k) for k in range(n + 1) if comb(n, k) <= seen) / 2**n


@pytest.mark.parametrize(("better", "worse"), [(9, 1), (1, 9), (5, 5), (0, 7), (12, 3), (3, 0)])
def test_the_sign_test_equals_the_brute_force_binomial_tail(better, worse):
    assert sign_test(better, worse) == pytest.approx(brute_force_sign_test(better, worse))


def test_the_sign_test_on_a_textbook_case_and_its_edges():
    assert sign_test(9, 1) == pytest.approx(22 / 1024)  # 2 × (C(10,0) + C(10,1)) / 2^10
    assert sign_test(0, 0) == 1.0 and sign_test(4, 4) == 1.0
    with pytest.raises(ValueError):
        sign_test(-1, 2)


def test_differences_pair_prompts_by_id_whatever_their_order():
    a = pd.Series({"p1": 1.0, "p2": 0.5, "p3": 0.0})
    b = pd.Series({"p3": 0.5, "p1": 0.0, "p4": 1.0})
    assert paired_differences(a, b).to_dict() == {"p1": 1.0, "p3": -0.5}
    with pytest.raises(ValueError, match="share no prompt"):
        paired_differences(a, pd.Series({"x": 1.0}))
    with pytest.raises(ValueError, match="one score per side"):
        paired_differences(pd.Series([1.0, 0.0], index=["p1", "p1"]), b)


def test_a_paired_comparison_counts_signs_and_brackets_the_mean():
    rng = np.random.default_rng(0)
    prompts = [f"p{i}" for i in range(40)]
    b = pd.Series(rng.uniform(0, 1, 40), index=prompts)
    shift = np.where(np.arange(40) < 30, 0.2, 0.0)  # 30 prompts improve, 10 stay the same
    result = compare_paired((b + shift).clip(upper=1.0), b)
    assert (result.n, result.ties, result.worse, result.left_out) == (40, 10, 0, 0)
    assert result.better == 30 and result.p_sign == pytest.approx(sign_test(30, 0))
    assert result.low <= result.mean <= result.high and result.low > 0
    assert "sign test p=" in str(result) and "n=40" in str(result)


def test_prompts_only_one_side_has_are_counted_as_left_out():
    a = pd.Series({"p1": 1.0, "p2": 0.0})
    b = pd.Series({"p1": 0.0, "p3": 1.0})
    result = compare_paired(a, b, resamples=50)
    assert (result.n, result.left_out, result.better) == (1, 2, 1)

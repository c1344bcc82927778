"""utils.evals.stats: intervals, chance level and agreement, against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from utils.evals import (
    accuracy_ci,
    accuracy_table,
    bootstrap_ci,
    cohen_kappa,
    p_value_vs_random,
    random_baseline,
    wilson_ci,
)


def test_wilson_matches_hand_computed_values():
    # 0 of 3 at 95%: z = 1.95996; centre = half = (z²/6) / (1 + z²/3) = 0.28075
    low, high = wilson_ci(0, 3)
    assert low == 0.0
    assert high == pytest.approx(0.56150, abs=1e-4)
    assert wilson_ci(3, 3)[1] == 1.0
    for k in range(4):  # the interval always contains the observed share
        low, high = wilson_ci(k, 3)
        assert low <= k / 3 <= high
    low, high = wilson_ci(5, 10)  # symmetric around one half
    assert (low, high) == pytest.approx((0.23659, 0.76341), abs=1e-4)


@pytest.mark.parametrize("successes, n", [(-1, 3), (4, 3), (0, 0)])
def test_wilson_rejects_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson_ci(successes, n)


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    correct = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0]
    low, high = bootstrap_ci(correct, seed=3)
    assert low < np.mean(correct) < high
    assert bootstrap_ci(correct, seed=3) == (low, high)
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)  # nothing varies, nothing to resample


def test_bootstrap_interval_shrinks_like_one_over_root_n():
    rng = np.random.default_rng(0)
    small, large = rng.random(100) < 0.7, rng.random(10_000) < 0.7
    width_small = np.subtract(*bootstrap_ci(small, resamples=500)[::-1])
    width_large = np.subtract(*bootstrap_ci(large, resamples=500)[::-1])
    assert width_small / width_large == pytest.approx(10, rel=0.3)  # sqrt(10_000 / 100)


def test_accuracy_ci_reports_value_interval_and_n():
    accuracy = accuracy_ci([True, False, True, True])
    assert accuracy.value == 0.75 and accuracy.n == 4
    assert accuracy.low <= 0.75 <= accuracy.high
    assert "75.0%" in str(accuracy) and "n=4" in str(accuracy)


def test_accuracy_refuses_missing_scores():
    with pytest.raises(ValueError, match="NaN"):
        accuracy_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        accuracy_ci([])


def test_random_baseline_averages_one_over_options():
    assert random_baseline(4) == 0.25
    assert random_baseline([4, 10]) == pytest.approx((0.25 + 0.1) / 2)
    with pytest.raises(ValueError):
        random_baseline([0, 4])


def test_p_value_is_the_exact_chance_of_guessing_as_well():
    assert p_value_vs_random([1, 0, 0, 0], [4] * 4) == pytest.approx(1 - 0.75**4)
    assert p_value_vs_random([0, 0, 0, 0], [4] * 4) == pytest.approx(1.0)
    assert p_value_vs_random([1, 1, 1, 1], [4] * 4) == pytest.approx(0.25**4)
    # mixed option counts: both right with 2 and 10 options = 1/2 * 1/10
    assert p_value_vs_random([1, 1], [2, 10]) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        p_value_vs_random([1, 0], [4])


def test_accuracy_table_has_one_row_per_group():
    results = pd.DataFrame(
        {
            "category": ["law", "law", "math", "math", "math"],
            "correct": [True, False, True, True, True],
            "n_options": [10, 10, 4, 4, 10],
        }
    )
    table = accuracy_table(results, by="category")
    assert list(table.index) == ["law", "math"]
    assert table.loc["law", "n"] == 2 and table.loc["law", "accuracy"] == 0.5
    assert table.loc["math", "random"] == pytest.approx((0.25 + 0.25 + 0.1) / 3)
    assert (table["low"] <= table["accuracy"]).all() and (table["accuracy"] <= table["high"]).all()
    with pytest.raises(ValueError, match="no column"):
        accuracy_table(results, by="subject")


def test_accuracy_table_can_use_wilson_intervals():
    results = pd.DataFrame({"g": ["x"] * 3, "correct": [False] * 3, "n_options": [4] * 3})
    assert tuple(accuracy_table(results, by="g").loc["x", ["low", "high"]]) == (0.0, 0.0)
    wilson = accuracy_table(results, by="g", interval="wilson").loc["x"]
    assert (wilson["low"], wilson["high"]) == pytest.approx(wilson_ci(0, 3))
    with pytest.raises(ValueError, match="interval"):
        accuracy_table(results, by="g", interval="exact")


def test_cohen_kappa_hand_computed():
    # observed 0.75; chance = 0.5 * 0.25 + 0.5 * 0.75 = 0.5; kappa = (0.75 - 0.5) / 0.5
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert cohen_kappa("aabb", "aabb") == 1.0
    assert cohen_kappa("aabb", "abab") == 0.0
    assert math.isnan(cohen_kappa("aaa", "aaa"))  # one label only: undefined
    with pytest.raises(ValueError):
        cohen_kappa("ab", "a")

"""pass@k: hand-computed values, a brute-force count, and why the plug-in formula is biased."""

import itertools
import math
import random
import re

import pytest

from utils.evals import mean_pass_at_k, naive_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 1, 1, 1 / 5),  # pass@1 is the fraction correct
        (5, 1, 2, 4 / 10),  # the correct sample is in 4 of the 10 pairs
        (5, 2, 2, 7 / 10),  # only 3 of the 10 pairs miss both correct samples
        (20, 3, 10, 17 / 19),  # 1 - C(17,10)/C(20,10) = 1 - (10·9·8)/(20·19·18)
        (10, 0, 5, 0.0),  # nothing passes
        (10, 6, 5, 1.0),  # only 4 failures: every 5 samples include a pass
        (4, 2, 3, 1.0),
        (1, 1, 1, 1.0),
    ],
)
def test_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_matches_a_brute_force_count_over_all_k_subsets():
    for n in range(1, 8):
        for c in range(n + 1):
            samples = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(samples, k))
                fraction = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(fraction, abs=1e-12), (n, c, k)


def test_matches_the_codex_papers_product_form():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 300)
        c, k = rng.randint(0, n), rng.randint(1, n)
        product = 1.0 if n - c < k else 1 - math.prod(1 - k / i for i in range(n - c + 1, n + 1))
        assert pass_at_k(n, c, k) == pytest.approx(product, abs=1e-9)


def _expected_over_samples(estimator, p, n, k):
    """Exact mean of an estimator when c ~ Binomial(n, p)."""
    return sum(
        math.comb(n, c) * p**c * (1 - p) ** (n - c) * estimator(n, c, k) for c in range(n + 1)
    )


@pytest.mark.parametrize(("p", "n", "k"), [(0.3, 5, 3), (0.05, 10, 5), (0.5, 4, 2)])
def test_unbiased_on_average_while_the_plug_in_formula_is_low(p, n, k):
    truth = 1 - (1 - p) ** k
    assert _expected_over_samples(pass_at_k, p, n, k) == pytest.approx(truth, abs=1e-12)
    assert _expected_over_samples(naive_pass_at_k, p, n, k) < truth - 1e-3


def test_naive_formula_values():
    assert naive_pass_at_k(5, 1, 2) == pytest.approx(1 - 0.8**2)
    assert naive_pass_at_k(5, 1, 1) == pytest.approx(pass_at_k(5, 1, 1))  # same at k = 1


def test_mean_over_problems():
    assert mean_pass_at_k([(5, 1), (5, 0), (5, 5)], k=1) == pytest.approx((0.2 + 0 + 1) / 3)
    assert mean_pass_at_k([(5, 1), (10, 0)], k=2) == pytest.approx(0.4 / 2)
    with pytest.raises(ValueError, match="no problems"):
        mean_pass_at_k([], k=1)


@pytest.mark.parametrize(
    ("n", "c", "k", "error", "message"),
    [
        (5, 1, 6, ValueError, "1 <= k <= n"),
        (5, 1, 0, ValueError, "1 <= k <= n"),
        (5, 6, 1, ValueError, "0 <= c <= n"),
        (5, -1, 1, ValueError, "0 <= c <= n"),
        (5.0, 1, 1, TypeError, "n must be an int"),
        (5, True, 1, TypeError, "c must be an int"),
    ],
)
def test_bad_arguments_say_what_is_wrong(n, c, k, error, message):
    with pytest.raises(error, match=re.escape(message)):
        pass_at_k(n, c, k)

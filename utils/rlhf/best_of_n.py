"""Best-of-n: draw n answers, keep the one the reward likes most. How good is that, on average?"""

from __future__ import annotations

from math import comb

import numpy as np


def expected_best_of_n(scores: np.ndarray, n: int) -> float:
    """Average best score over all n-answer subsets of the N scored answers (exact, no resampling).

    Sorted ascending, the k-th smallest score is the best of a random n-subset with
    probability C(k−1, n−1) / C(N, n). With 0/1 rewards this is the unbiased pass@n estimate.
    """
    scores = np.sort(np.asarray(scores, dtype=float))
    total = len(scores)
    if not 1 <= n <= total:
        raise ValueError(f"n must be between 1 and the number of scored answers ({total}), got {n}")
    weights = np.array([comb(k - 1, n - 1) for k in range(1, total + 1)]) / comb(total, n)
    return float(weights @ scores)


def best_of_n_curve(scores: np.ndarray) -> np.ndarray:
    """``expected_best_of_n`` for n = 1 … N: how the kept answer's score grows with n."""
    return np.array([expected_best_of_n(scores, n) for n in range(1, len(scores) + 1)])

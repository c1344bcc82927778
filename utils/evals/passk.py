"""pass@k: the chance that at least one of k sampled programs passes the tests.

Chen et al. 2021, "Evaluating Large Language Models Trained on Code" (the Codex paper),
section 2.1: draw n ≥ k samples per problem, count the c that pass, and estimate

    pass@k = 1 - C(n - c, k) / C(n, k)

which is the chance that k samples drawn *without replacement* from those n include at
least one that passes. Averaged over problems it is an unbiased estimate of pass@k. The
plug-in formula 1 - (1 - c/n)**k is biased low; ``naive_pass_at_k`` is here to show it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: ``n`` samples, ``c`` of them correct."""
    for name, value in (("n", n), ("c", c), ("k", k)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n (draw at least k samples), got n={n}, k={k}")
    all_draws, failing_draws = math.comb(n, k), math.comb(n - c, k)  # comb is 0 when n - c < k
    return (all_draws - failing_draws) / all_draws  # exact integers, one rounding at the end


def naive_pass_at_k(n: int, c: int, k: int) -> float:
    """The biased plug-in estimate 1 - (1 - c/n)^k (for comparison only; do not report it)."""
    if not 0 <= c <= n or n < 1 or k < 1:
        raise ValueError(f"need n >= 1, 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    return 1.0 - (1.0 - c / n) ** k


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k of a benchmark: the mean of ``pass_at_k(n, c, k)`` over ``(n, c)`` per problem."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("no problems: pass (n, c) for at least one problem")
    return sum(values) / len(values)

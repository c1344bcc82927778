"""Paired comparisons: the same prompts answered two ways (thinking and not), prompt by prompt.

Two scores of the same prompts are not two independent samples: a hard prompt is hard for
both. So compare per prompt: ``d_i = a_i − b_i``. Report the mean difference with a
bootstrap interval over prompts (prompts are what would change in another benchmark), and
an exact **sign test**: of the prompts that changed, how surprising is the split between
better and worse if either were equally likely? Ties (no change) carry no sign and are left
out of the test, as the sign test does.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import pandas as pd

from utils.evals.stats import bootstrap_ci


def paired_differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a − b`` for every key (prompt id) both have; a key only one side has is left out."""
    common = a.index.intersection(b.index, sort=False)
    if common.empty:
        raise ValueError("the two score series share no prompt: nothing to pair")
    if not (a.index.is_unique and b.index.is_unique):
        raise ValueError("each prompt needs one score per side: average its samples first")
    return (a.loc[common] - b.loc[common]).rename("difference")


def sign_test(better: int, worse: int) -> float:
    """Exact two-sided sign test: P(a split at least this uneven | up and down equally likely)."""
    if better < 0 or worse < 0:
        raise ValueError(f"counts must be >= 0, got {better} and {worse}")
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(better, worse) + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class PairedComparison:
    """Mean of ``a − b`` over prompts, its interval, and the sign test."""

    mean: float
    low: float
    high: float
    n: int  # prompts paired
    better: int  # prompts where a scored higher
    worse: int  # prompts where a scored lower
    ties: int
    p_sign: float
    left_out: int = 0  # prompts only one side had
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{self.mean:+.3f} ({self.confidence:.0%} CI {self.low:+.3f} to {self.high:+.3f}, "
            f"n={self.n}) · better on {self.better}, worse on {self.worse}, same on "
            f"{self.ties} · sign test p={self.p_sign:.3g}"
        )


def compare_paired(
    a: pd.Series,
    b: pd.Series,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    tolerance: float = 1e-9,
) -> PairedComparison:
    """Compare per-prompt scores ``a`` and ``b`` (Series indexed by prompt id)."""
    differences = paired_differences(a, b)
    low, high = bootstrap_ci(
        differences.to_numpy(), confidence=confidence, resamples=resamples, seed=seed
    )
    better = int((differences > tolerance).sum())
    worse = int((differences < -tolerance).sum())
    left_out = len(a.index.union(b.index)) - len(differences)
    return PairedComparison(
        mean=float(differences.mean()),
        low=low,
        high=high,
        n=len(differences),
        better=better,
        worse=worse,
        ties=len(differences) - better - worse,
        p_sign=sign_test(better, worse),
        left_out=left_out,
        confidence=confidence,
    )

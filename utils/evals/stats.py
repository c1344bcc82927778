"""Statistics for evaluation results: accuracy with confidence intervals, chance, agreement.

A score from a few hundred questions is an estimate. These helpers say how uncertain it is
(bootstrap and Wilson intervals), whether it beats guessing, and how often two judges agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Accuracy:
    """An accuracy with its confidence interval."""

    value: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{self.value:.1%} ({self.confidence:.0%} CI {self.low:.1%}–{self.high:.1%}, "
            f"n={self.n})"
        )


def _as_array(values: Sequence[float] | np.ndarray, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN: score unreadable answers as 0, don't drop them")
    return array


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``statistic(values)``: resample with replacement."""
    array = _as_array(values)
    rng = np.random.default_rng(seed)
    stats = [statistic(rng.choice(array, size=array.size)) for _ in range(resamples)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def accuracy_ci(
    correct: Sequence[bool] | np.ndarray,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Accuracy:
    """Share of ``correct`` answers with a bootstrap confidence interval."""
    array = _as_array(correct, "correct")
    low, high = bootstrap_ci(array, confidence=confidence, resamples=resamples, seed=seed)
    return Accuracy(float(array.mean()), low, high, int(array.size), confidence)


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (sensible even at 0 of 3)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes} of {n}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding dust
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def random_baseline(n_options: int | Sequence[int]) -> float:
    """Expected accuracy of uniform guessing: the mean of 1/options over the questions."""
    counts = _as_array(np.atleast_1d(n_options), "n_options")
    if (counts < 1).any():
        raise ValueError("every question needs at least one option")
    return float(np.mean(1 / counts))


def p_value_vs_random(correct: Sequence[bool], n_options: Sequence[int]) -> float:
    """Chance that a uniform guesser scores at least as many as ``correct`` (exact, one-sided)."""
    hits = _as_array(correct, "correct")
    counts = _as_array(n_options, "n_options")
    if hits.size != counts.size:
        raise ValueError(f"{hits.size} results but {counts.size} option counts")
    distribution = np.array([1.0])  # P(k correct guesses), built one question at a time
    for count in counts:
        distribution = np.convolve(distribution, [1 - 1 / count, 1 / count])
    return float(min(1.0, distribution[int(hits.sum()) :].sum()))


def accuracy_table(
    results: pd.DataFrame,
    by: str,
    correct: str = "correct",
    n_options: str = "n_options",
    interval: str = "bootstrap",
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Per group: ``n``, ``accuracy``, its ``low``/``high`` interval and the ``random`` baseline.

    ``interval`` is ``"bootstrap"`` or ``"wilson"`` (better for a handful of questions).
    """
    if interval not in ("bootstrap", "wilson"):
        raise ValueError(f"interval must be 'bootstrap' or 'wilson', got {interval!r}")
    for column in (by, correct, n_options):
        if column not in results.columns:
            raise ValueError(f"results has no column {column!r}; it has {list(results.columns)}")
    rows = []
    for group, part in results.groupby(by, sort=True):
        hits = part[correct].astype(bool)
        if interval == "bootstrap":
            low, high = bootstrap_ci(hits, confidence=confidence, seed=seed)
        else:
            low, high = wilson_ci(int(hits.sum()), len(hits), confidence)
        rows.append(
            {
                by: group,
                "n": len(hits),
                "accuracy": float(hits.mean()),
                "low": low,
                "high": high,
                "random": random_baseline(part[n_options].tolist()),
            }
        )
    return pd.DataFrame(rows).set_index(by)


def cohen_kappa(labels_a: Sequence, labels_b: Sequence) -> float:
    """Agreement of two raters beyond chance: 1 perfect, 0 as if independent, < 0 worse."""
    a, b = list(labels_a), list(labels_b)
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty label lists, got {len(a)}, {len(b)}")
    observed = np.mean([x == y for x, y in zip(a, b, strict=True)])
    categories = set(a) | set(b)
    expected = sum((a.count(c) / len(a)) * (b.count(c) / len(b)) for c in categories)
    if expected == 1:  # both raters always gave the same single label: kappa is undefined
        return float("nan")
    return float((observed - expected) / (1 - expected))

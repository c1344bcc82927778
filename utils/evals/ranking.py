"""Bradley–Terry ratings from pairwise battles, on the Elo scale, with bootstrap intervals.

Bradley–Terry says model *i* beats model *j* with probability ``p_i / (p_i + p_j)``. We find
the strengths ``p`` that make the observed battles most likely (maximum likelihood, by the
classic minorise–maximise iteration) and report ``400 · log10(p)``, shifted so the ratings
average 1000: a gap of 400 points means 10-to-1 odds, as in chess Elo. A tie counts as half
a win for each side. This is how Chatbot Arena and Arena-Hard turn battles into a leaderboard.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

SCALE = 400.0  # Elo points per factor of 10 in the odds
CENTRE = 1000.0  # the ratings' mean
WINNERS = ("model_a", "model_b", "tie")


def _tally(battles: pd.DataFrame, prior: float) -> tuple[list[str], np.ndarray]:
    """Models, and ``wins[i, j]``: how often model i beat model j (a tie is half a win each)."""
    missing = {"model_a", "model_b", "winner"} - set(battles.columns)
    if missing:
        raise ValueError(f"battles needs the columns model_a, model_b, winner; missing {missing}")
    unknown = set(battles["winner"].unique()) - set(WINNERS)
    if unknown:
        raise ValueError(f"winner must be one of {WINNERS}; found {sorted(map(str, unknown))}")
    if (battles["model_a"] == battles["model_b"]).any():
        raise ValueError("a model cannot battle itself: drop rows where model_a == model_b")
    models = sorted(set(battles["model_a"].unique()) | set(battles["model_b"].unique()))
    if len(models) < 2:
        raise ValueError("need battles between at least two models")
    i = pd.Categorical(battles["model_a"], categories=models).codes
    j = pd.Categorical(battles["model_b"], categories=models).codes
    credit = battles["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5}).to_numpy()
    wins = np.full((len(models), len(models)), prior / 2)  # prior: virtual ties, every pair
    np.fill_diagonal(wins, 0.0)
    np.add.at(wins, (i, j), credit)  # i's share of each battle against j
    np.add.at(wins, (j, i), 1.0 - credit)
    return models, wins


def _check_connected(models: list[str], wins: np.ndarray) -> None:
    """Maximum likelihood is finite only if every model has beaten, through some chain, every
    other: otherwise an unbeaten (or never-winning) model's strength runs off to infinity."""
    reach = (wins > 0) | np.eye(len(models), dtype=bool)
    for _ in range(len(models)):
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    if not reach.all():
        i, j = np.argwhere(~reach)[0]
        raise ValueError(
            f"{models[i]} never beats or ties {models[j]}, even through other models, so its "
            "maximum-likelihood rating is infinitely far away. Collect more battles, or pass "
            "prior=1.0 (one virtual tie between every pair of models) to keep ratings finite."
        )


def bradley_terry(
    battles: pd.DataFrame, prior: float = 0.0, tolerance: float = 1e-10, max_iter: int = 100_000
) -> pd.Series:
    """Maximum-likelihood Bradley–Terry ratings (Elo scale, mean 1000), highest first.

    ``battles`` has columns ``model_a``, ``model_b`` and ``winner`` ("model_a", "model_b" or
    "tie"). ``prior`` adds that many virtual ties between every pair of models.
    """
    models, wins = _tally(battles, prior)
    _check_connected(models, wins)
    games = wins + wins.T  # games[i, j]: battles between i and j
    total_wins = wins.sum(axis=1)
    strength = np.ones(len(models))
    for _ in range(max_iter):  # Hunter (2004): p_i <- W_i / sum_j n_ij / (p_i + p_j)
        updated = total_wins / (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated /= np.exp(np.log(updated).mean())  # fix the scale: geometric mean 1
        converged = np.abs(np.log(updated) - np.log(strength)).max() < tolerance
        strength = updated
        if converged:
            break
    ratings = CENTRE + SCALE * np.log10(strength)
    return pd.Series(ratings, index=pd.Index(models, name="model"), name="rating").sort_values(
        ascending=False
    )


RESAMPLE_PRIOR = 0.01  # virtual ties for a bootstrap resample that has no finite fit


def bootstrap_bradley_terry(
    battles: pd.DataFrame,
    rounds: int = 200,
    confidence: float = 0.95,
    prior: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Ratings with percentile-bootstrap intervals: refit on battles resampled with replacement.

    Returns columns ``rating`` (fit on all battles), ``low`` and ``high``, highest first.
    A resample in which some model never wins (or never loses) has no finite fit; it is refit
    with a tiny prior (``RESAMPLE_PRIOR`` virtual ties), so it counts as the extreme it is and
    widens the interval instead of being dropped.
    """
    rating = bradley_terry(battles, prior=prior)
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(rounds):
        sample = battles.iloc[rng.integers(0, len(battles), size=len(battles))]
        try:
            fits.append(bradley_terry(sample, prior=prior))
        except ValueError:  # an unbeaten or winless model in this resample
            fits.append(bradley_terry(sample, prior=max(prior, RESAMPLE_PRIOR)))
    draws = pd.DataFrame(fits).reindex(columns=rating.index)  # a resample may miss a model
    tail = (1 - confidence) / 2
    return pd.DataFrame(
        {"rating": rating, "low": draws.quantile(tail), "high": draws.quantile(1 - tail)}
    )


def win_probability(rating_a: float, rating_b: float) -> float:
    """Chance that a model rated ``rating_a`` beats one rated ``rating_b`` (ties aside)."""
    return 1.0 / (1.0 + 10 ** ((rating_b - rating_a) / SCALE))


def simulate_battles(
    ratings: Mapping[str, float], n_battles: int, tie_rate: float = 0.0, seed: int = 0
) -> pd.DataFrame:
    """Random battles between random pairs of models whose true ratings are ``ratings``."""
    models = list(ratings)
    if len(models) < 2:
        raise ValueError("need at least two models")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_battles):
        a, b = rng.choice(models, size=2, replace=False)
        if rng.random() < tie_rate:
            winner = "tie"
        else:
            winner = (
                "model_a" if rng.random() < win_probability(ratings[a], ratings[b]) else "model_b"
            )
        rows.append({"model_a": str(a), "model_b": str(b), "winner": winner})
    return pd.DataFrame(rows)

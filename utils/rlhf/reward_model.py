"""A reward model as a linear head on frozen features, trained with the Bradley–Terry loss.

Bradley–Terry: P(chosen ≻ rejected) = σ(r(chosen) − r(rejected)). With r(x) = w·x the loss is
−log σ(w·(x_c − x_r)), averaged over pairs, plus (l2/2)·‖w‖². Only differences of rewards
matter, so a bias term would cancel: the head has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from utils.rlhf.losses import log_sigmoid


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(log_sigmoid(x))


def bradley_terry_loss(
    weights: np.ndarray, chosen: np.ndarray, rejected: np.ndarray, l2: float = 0.0
) -> float:
    """Mean −log σ(w·x_chosen − w·x_rejected) over pairs, plus (l2/2)‖w‖²."""
    margin = chosen @ weights - rejected @ weights
    return float(-log_sigmoid(margin).mean() + 0.5 * l2 * weights @ weights)


def bradley_terry_grad(
    weights: np.ndarray, chosen: np.ndarray, rejected: np.ndarray, l2: float = 0.0
) -> np.ndarray:
    """Gradient of ``bradley_terry_loss`` with respect to the weights."""
    diff = chosen - rejected  # (pairs, features)
    margin = diff @ weights
    # d/dm [−log σ(m)] = −(1 − σ(m)) = −σ(−m)
    return -(_sigmoid(-margin) @ diff) / len(diff) + l2 * weights


@dataclass
class RewardModel:
    """A trained linear reward head: features are standardised, then r(x) = w·x."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    losses: list[float] = field(default_factory=list)  # training loss per step

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """Features on the scale the head was trained on."""
        return (np.asarray(features, dtype=float) - self.mean) / self.scale

    def score(self, features: np.ndarray) -> np.ndarray:
        """The scalar reward of each row of ``features``."""
        return self.standardise(features) @ self.weights

    def prob_chosen(self, chosen: np.ndarray, rejected: np.ndarray) -> np.ndarray:
        """The model's P(first ≻ second) for each pair: σ(r(chosen) − r(rejected))."""
        return _sigmoid(self.score(chosen) - self.score(rejected))


def fit_reward_model(
    chosen: np.ndarray,
    rejected: np.ndarray,
    l2: float = 0.1,
    steps: int = 300,
    lr: float | None = None,
) -> RewardModel:
    """Train a linear Bradley–Terry head by gradient descent on (pairs, features) arrays.

    The default step size is 1/L, L the loss's largest curvature (σ'' ≤ ¼ bounds it), so the
    descent never diverges, whatever the features' scale or ``l2``.
    """
    chosen, rejected = np.asarray(chosen, dtype=float), np.asarray(rejected, dtype=float)
    if chosen.shape != rejected.shape or chosen.ndim != 2:
        raise ValueError(
            f"chosen and rejected must be (pairs, features) arrays of one shape, got "
            f"{chosen.shape} and {rejected.shape}"
        )
    both = np.vstack([chosen, rejected])
    mean, scale = both.mean(axis=0), both.std(axis=0) + 1e-8
    zc, zr = (chosen - mean) / scale, (rejected - mean) / scale
    if lr is None:
        lr = 1.0 / (0.25 * np.linalg.norm(zc - zr, 2) ** 2 / len(zc) + l2)
    weights = np.zeros(chosen.shape[1])
    losses = []
    for _ in range(steps):
        losses.append(bradley_terry_loss(weights, zc, zr, l2))
        weights = weights - lr * bradley_terry_grad(weights, zc, zr, l2)
    return RewardModel(mean=mean, scale=scale, weights=weights, losses=losses)


def preference_accuracy(model: RewardModel, chosen: np.ndarray, rejected: np.ndarray) -> float:
    """Fraction of pairs where the model scores the chosen response higher."""
    return float(np.mean(model.score(chosen) > model.score(rejected)))


def calibration_bins(probs: np.ndarray, outcomes: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    """Predicted probability vs observed frequency in equal-width bins (empty bins dropped)."""
    probs, outcomes = np.asarray(probs, dtype=float), np.asarray(outcomes, dtype=float)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, n_bins - 1)
    rows = [
        {
            "bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}",
            "mean_predicted": probs[which == b].mean(),
            "observed": outcomes[which == b].mean(),
            "pairs": int((which == b).sum()),
        }
        for b in range(n_bins)
        if (which == b).any()
    ]
    return pd.DataFrame(rows)

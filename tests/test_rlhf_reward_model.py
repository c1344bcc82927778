"""The Bradley–Terry reward head: its loss, its gradient, and that it learns a clean preference."""

import math

import numpy as np
import pytest

from utils.rlhf import (
    bradley_terry_grad,
    bradley_terry_loss,
    calibration_bins,
    fit_reward_model,
    preference_accuracy,
)


def _finite_difference(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def test_loss_by_hand():
    chosen, rejected = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    w = np.array([2.0, 1.0])  # margin = 2 - 1 = 1
    assert bradley_terry_loss(w, chosen, rejected) == pytest.approx(math.log(1 + math.exp(-1)))
    assert bradley_terry_loss(w, chosen, rejected, l2=0.5) == pytest.approx(
        math.log(1 + math.exp(-1)) + 0.25 * 5
    )
    assert bradley_terry_loss(np.zeros(2), chosen, rejected) == pytest.approx(math.log(2))


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    chosen, rejected, w = rng.normal(size=(20, 6)), rng.normal(size=(20, 6)), rng.normal(size=6)
    for l2 in (0.0, 0.3):
        numeric = _finite_difference(
            lambda v, l2=l2: bradley_terry_loss(v, chosen, rejected, l2), w
        )
        assert bradley_terry_grad(w, chosen, rejected, l2) == pytest.approx(numeric, abs=1e-7)


def _synthetic_pairs(n, rng, dim=16):
    """Preferences that one hidden direction decides: the chosen side is always higher on it."""
    direction = np.zeros(dim)
    direction[3] = 1.0
    a, b = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
    a_wins = a @ direction > b @ direction
    chosen = np.where(a_wins[:, None], a, b)
    rejected = np.where(a_wins[:, None], b, a)
    return chosen, rejected


def test_learns_a_separable_synthetic_preference():
    rng = np.random.default_rng(1)
    train_c, train_r = _synthetic_pairs(200, rng)
    test_c, test_r = _synthetic_pairs(200, rng)
    model = fit_reward_model(train_c, train_r, l2=1e-3, steps=400)
    assert model.losses[0] == pytest.approx(math.log(2))
    assert model.losses[-1] < 0.3 < model.losses[0]
    assert preference_accuracy(model, test_c, test_r) >= 0.95
    assert np.argmax(np.abs(model.weights)) == 3  # it found the deciding feature
    probs = model.prob_chosen(test_c, test_r)
    assert probs.shape == (200,) and ((probs > 0) & (probs < 1)).all()


def test_fit_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="pairs, features"):
        fit_reward_model(np.zeros((3, 2)), np.zeros((4, 2)))


def test_calibration_bins():
    probs = np.array([0.05, 0.15, 0.55, 0.65, 0.95])
    outcomes = np.array([0, 0, 1, 0, 1])
    table = calibration_bins(probs, outcomes, n_bins=5)
    assert list(table["bin"]) == ["0.0–0.2", "0.4–0.6", "0.6–0.8", "0.8–1.0"]  # empty bin dropped
    assert list(table["pairs"]) == [2, 1, 1, 1]
    assert table["mean_predicted"].iloc[0] == pytest.approx(0.10)
    assert list(table["observed"]) == [0.0, 1.0, 0.0, 1.0]

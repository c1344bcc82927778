"""The toy softmax policy: gradients by finite differences, and PPO / DPO doing what they claim."""

import math

import numpy as np
import pytest

from utils.rlhf import dpo_loss, kl_regularised_optimum, log_softmax, train_dpo, train_ppo
from utils.rlhf.losses import kl_divergence, ppo_clip_objective
from utils.rlhf.toy_policy import dpo_grad, ppo_clip_grad

REF = log_softmax(np.array([1.0, 0.5, 0.0, -0.5, -1.0]))  # a reference policy over 5 answers
REWARDS = np.array([0.0, 1.0, 0.0, 1.0, 0.0])


def _finite_difference(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def test_log_softmax():
    out = log_softmax(np.array([1000.0, 1000.0]))  # no overflow
    assert out == pytest.approx([math.log(0.5)] * 2)
    assert np.exp(log_softmax(np.array([3.0, 1.0, -2.0]))).sum() == pytest.approx(1.0)


def test_ppo_clip_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=5)
    actions = rng.integers(0, 5, size=30)
    logp_old = log_softmax(logits + rng.normal(scale=0.3, size=5))[actions]  # some ratios clip
    advantages = rng.normal(size=30)

    def objective(theta):
        return ppo_clip_objective(log_softmax(theta)[actions], logp_old, advantages, clip=0.2)

    numeric = _finite_difference(objective, logits)
    assert ppo_clip_grad(logits, actions, logp_old, advantages, 0.2) == pytest.approx(
        numeric, abs=1e-7
    )


def test_dpo_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=5)
    chosen, rejected = np.array([1, 3, 1, 0]), np.array([0, 2, 4, 4])

    def loss(theta):
        logp = log_softmax(theta)
        return dpo_loss(logp[chosen], logp[rejected], REF[chosen], REF[rejected], beta=0.5)

    numeric = _finite_difference(loss, logits)
    assert dpo_grad(logits, REF, chosen, rejected, beta=0.5) == pytest.approx(numeric, abs=1e-7)


def test_kl_regularised_optimum_is_the_maximiser():
    beta = 0.2
    best = kl_regularised_optimum(REF, REWARDS, beta)

    def objective(logp):
        return np.exp(logp) @ REWARDS - beta * kl_divergence(logp, REF)

    rng = np.random.default_rng(2)
    for _ in range(200):  # no nearby policy does better
        other = log_softmax(best + rng.normal(scale=0.3, size=5))
        assert objective(other) <= objective(best) + 1e-12


def test_ppo_raises_reward_grows_kl_and_approaches_the_optimum():
    run = train_ppo(REF, REWARDS, beta=0.2, lr=0.5, iterations=80, seed=0)
    history = run.history
    assert history["kl"].iloc[0] == pytest.approx(0.0)  # starts at the reference
    assert history["expected_reward"].iloc[-1] > history["expected_reward"].iloc[0] + 0.3
    assert history["kl"].iloc[-1] > 0.1
    assert run.probs.shape == (81, 5)
    optimum = np.exp(kl_regularised_optimum(REF, REWARDS, beta=0.2))
    assert run.probs[-1] == pytest.approx(optimum, abs=0.05)


def test_dpo_starts_at_log_2_and_learns_the_preferences():
    chosen, rejected = np.array([1, 1, 3, 3]), np.array([0, 2, 0, 2])
    run = train_dpo(REF, chosen, rejected, beta=0.1, lr=5.0, steps=150)
    assert run.history["loss"].iloc[0] == pytest.approx(math.log(2))
    assert run.history["loss"].is_monotonic_decreasing
    start, end = run.probs[0], run.probs[-1]
    assert end[[1, 3]].sum() > start[[1, 3]].sum() + 0.3  # mass moved to the preferred answers
    # answer 4 is in no pair, so DPO never touches its logit (its probability still changes)
    assert run.logits[4] == pytest.approx(REF[4])


def test_smoothed_dpo_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=5)
    chosen, rejected = np.array([1, 3, 1]), np.array([0, 2, 4])

    def loss(theta):
        logp = log_softmax(theta)
        return dpo_loss(
            logp[chosen], logp[rejected], REF[chosen], REF[rejected], beta=0.5, label_smoothing=0.2
        )

    numeric = _finite_difference(loss, logits)
    got = dpo_grad(logits, REF, chosen, rejected, beta=0.5, label_smoothing=0.2)
    assert got == pytest.approx(numeric, abs=1e-7)


def test_label_smoothing_stops_dpo_at_a_finite_margin():
    """cDPO's loss is smallest where σ(margin) = 1 − ε: the rejected answer keeps some mass."""
    chosen, rejected = np.array([1]), np.array([0])
    beta, eps = 0.5, 0.1
    plain = train_dpo(REF, chosen, rejected, beta=beta, lr=5.0, steps=3000)
    smoothed = train_dpo(REF, chosen, rejected, beta=beta, lr=5.0, steps=3000, label_smoothing=eps)
    logp = np.log(smoothed.probs[-1])
    margin = beta * ((logp[1] - REF[1]) - (logp[0] - REF[0]))
    assert margin == pytest.approx(math.log((1 - eps) / eps), abs=1e-3)
    assert plain.probs[-1][0] < smoothed.probs[-1][0] / 10  # plain DPO keeps pushing it down

"""DPO, PPO-clip, KL estimators and GRPO advantages against hand-computed cases."""

import math

import numpy as np
import pytest

from utils.rlhf import dpo_loss, grpo_advantages
from utils.rlhf.losses import (
    dpo_implicit_rewards,
    kl_divergence,
    kl_estimate,
    log_sigmoid,
    ppo_clip_objective,
)


def test_log_sigmoid_is_stable_and_right():
    assert log_sigmoid(0.0) == pytest.approx(math.log(0.5))
    assert log_sigmoid(2.0) == pytest.approx(math.log(1 / (1 + math.exp(-2.0))))
    assert log_sigmoid(-800.0) == pytest.approx(-800.0)  # no overflow to -inf
    assert log_sigmoid(800.0) == pytest.approx(0.0)


def test_dpo_loss_is_log_2_when_policy_equals_reference():
    logps = np.array([-12.3, -4.0, -30.5])
    other = np.array([-8.0, -9.5, -1.25])
    assert dpo_loss(logps, other, logps, other) == pytest.approx(math.log(2))
    assert dpo_loss(logps, other, logps, other, reduction="none") == pytest.approx(
        [math.log(2)] * 3
    )


def test_dpo_loss_matches_a_hand_computed_pair():
    # policy gained 2 nats on chosen, lost 1 on rejected: margin = 0.5 * (2 - (-1)) = 1.5
    loss = dpo_loss([-10.0], [-21.0], [-12.0], [-20.0], beta=0.5)
    assert loss == pytest.approx(-math.log(1 / (1 + math.exp(-1.5))))
    assert isinstance(loss, float)


def test_dpo_loss_reductions_and_shapes():
    pc, pr, rc, rr = (np.array([-1.0, -2.0]), np.array([-3.0, -1.0]), np.zeros(2), np.zeros(2))
    per_pair = dpo_loss(pc, pr, rc, rr, beta=1.0, reduction="none")
    assert per_pair.shape == (2,)
    assert dpo_loss(pc, pr, rc, rr, beta=1.0) == pytest.approx(per_pair.mean())
    with pytest.raises(ValueError, match="reduction"):
        dpo_loss(pc, pr, rc, rr, reduction="sum")
    with pytest.raises(ValueError, match="same shape"):
        dpo_loss(pc, pr[:1], rc, rr)


def test_implicit_rewards():
    assert dpo_implicit_rewards([-5.0, -7.0], [-6.0, -6.0], beta=0.1) == pytest.approx([0.1, -0.1])


def test_ppo_clip_objective_by_hand():
    old = np.log([0.5, 0.5, 0.5, 0.5])
    new = np.log([0.5, 0.75, 0.25, 0.75])  # ratios 1, 1.5, 0.5, 1.5
    adv = np.array([1.0, 1.0, -1.0, -1.0])
    per = ppo_clip_objective(new, old, adv, clip=0.2, reduction="none")
    # ratio 1.5 with A>0 is clipped to 1.2; ratio 0.5 with A<0 is clipped to 0.8 (min picks -0.8);
    # ratio 1.5 with A<0: min(-1.5, -1.2) = -1.5, the pessimistic (unclipped) one
    assert per == pytest.approx([1.0, 1.2, -0.8, -1.5])
    assert ppo_clip_objective(new, old, adv, clip=0.2) == pytest.approx(
        np.mean([1.0, 1.2, -0.8, -1.5])
    )


def test_kl_estimators_by_hand_and_unbiased():
    logp, ref = np.log([0.5]), np.log([0.25])
    assert kl_estimate(logp, ref, "k1") == pytest.approx([math.log(2)])
    assert kl_estimate(logp, ref, "k2") == pytest.approx([0.5 * math.log(2) ** 2])
    assert kl_estimate(logp, ref, "k3") == pytest.approx([(0.5 - 1) + math.log(2)])
    with pytest.raises(ValueError, match="kind"):
        kl_estimate(logp, ref, "k4")
    # averaged over samples from p, k1 and k3 converge to the exact KL
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.3, 0.4])
    exact = kl_divergence(np.log(p), np.log(q))
    assert exact == pytest.approx(float(np.sum(p * np.log(p / q))))
    samples = np.random.default_rng(0).choice(3, size=200_000, p=p)
    for kind in ("k1", "k3"):
        estimate = kl_estimate(np.log(p)[samples], np.log(q)[samples], kind).mean()
        assert estimate == pytest.approx(exact, abs=0.01)
    assert (kl_estimate(np.log(p)[samples], np.log(q)[samples], "k3") >= 0).all()


def test_kl_divergence_handles_zero_probabilities_and_rows():
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[1.0, 0.0], [0.5, 0.5]]))  # log 0 = -inf
    logq = np.log(np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert kl_divergence(logp, logq) == pytest.approx([math.log(2), 0.0])


def test_grpo_advantages_by_hand():
    # mean 0.5, sample std sqrt(1/3): (1 - 0.5) / 0.57735 = 0.866
    assert grpo_advantages([1, 1, 0, 0]) == pytest.approx([0.866, 0.866, -0.866, -0.866], abs=1e-3)
    batch = grpo_advantages(np.array([[0, 0, 0, 0], [1, 0, 0, 0], [3.0, 1.0, 2.0, 2.0]]))
    assert batch.shape == (3, 4)
    assert batch[0] == pytest.approx([0, 0, 0, 0])  # no signal when every answer scores the same
    assert batch[1] == pytest.approx([1.5, -0.5, -0.5, -0.5], abs=1e-3)
    assert batch.mean(axis=1) == pytest.approx([0, 0, 0])
    assert batch[2].std(ddof=1) == pytest.approx(1.0, abs=1e-3)


def test_grpo_advantages_reject_bad_shapes():
    for bad in ([1.0], np.zeros((2, 2, 2)), 3.0):
        with pytest.raises(ValueError, match="G ≥ 2"):
            grpo_advantages(bad)


def test_label_smoothing_is_conservative_dpo():
    pc, pr, rc, rr = [-10.0], [-21.0], [-12.0], [-20.0]  # margin = 0.5 · 3 = 1.5
    eps = 0.1
    expected = -(1 - eps) * math.log(1 / (1 + math.exp(-1.5))) - eps * math.log(
        1 / (1 + math.exp(1.5))
    )
    assert dpo_loss(pc, pr, rc, rr, beta=0.5, label_smoothing=eps) == pytest.approx(expected)
    assert dpo_loss(pc, pr, rc, rr, beta=0.5, label_smoothing=0.0) == dpo_loss(
        pc, pr, rc, rr, beta=0.5
    )
    # at margin 0 smoothing changes nothing: still log 2
    assert dpo_loss([-3.0], [-4.0], [-3.0], [-4.0], label_smoothing=0.3) == pytest.approx(
        math.log(2)
    )
    with pytest.raises(ValueError, match="label_smoothing"):
        dpo_loss(pc, pr, rc, rr, label_smoothing=0.5)

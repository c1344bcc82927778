"""A toy policy: a softmax over K candidate answers, trained with PPO-clip and with DPO in numpy.

A real policy is a language model choosing tokens; this one chooses among K whole answers
with probabilities softmax(logits). Small enough to watch every number, real enough that the
reference probabilities come from the local model and the rewards from a checker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.rlhf.losses import dpo_loss, kl_divergence, log_sigmoid


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis (subtracting the max first, so it never overflows)."""
    logits = np.asarray(logits, dtype=float)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def kl_regularised_optimum(
    ref_logprobs: np.ndarray, rewards: np.ndarray, beta: float
) -> np.ndarray:
    """log π* for π* ∝ π_ref · exp(r/β): the policy that maximises E_π[r] − β·KL(π‖π_ref)."""
    return log_softmax(np.asarray(ref_logprobs, dtype=float) + np.asarray(rewards) / beta)


def ppo_clip_grad(
    logits: np.ndarray,
    actions: np.ndarray,
    logp_old: np.ndarray,
    advantages: np.ndarray,
    clip: float = 0.2,
) -> np.ndarray:
    """Gradient w.r.t. the logits of mean min(ρA, clip(ρ, 1−ε, 1+ε)A), ρ = π(a)/π_old(a)."""
    logp = log_softmax(logits)
    ratio = np.exp(logp[actions] - logp_old)
    # Clipping binds (and stops the gradient) once the ratio has moved far enough in the
    # direction the advantage pushes it; otherwise the unclipped term ρA is the minimum.
    binds = ((advantages > 0) & (ratio > 1 + clip)) | ((advantages < 0) & (ratio < 1 - clip))
    onehot = np.eye(len(logits))[actions]
    dlogp = onehot - np.exp(logp)  # d log π(a) / d logits, one row per sample
    weight = np.where(binds, 0.0, advantages * ratio)  # dρ = ρ · d log π(a)
    return (weight[:, None] * dlogp).mean(axis=0)


def dpo_grad(
    logits: np.ndarray,
    ref_logprobs: np.ndarray,
    chosen: np.ndarray,
    rejected: np.ndarray,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """Gradient w.r.t. the logits of the mean DPO loss over pairs chosen[i] ≻ rejected[i]."""
    logp = log_softmax(logits)
    margin = beta * (
        (logp[chosen] - ref_logprobs[chosen]) - (logp[rejected] - ref_logprobs[rejected])
    )
    eye = np.eye(len(logits))
    # d/dm of (1−ε)(−log σ(m)) + ε(−log σ(−m)) is −(1−ε)σ(−m) + εσ(m);
    # dm/dlogits = β(e_chosen − e_rejected): the softmax terms cancel
    eps = label_smoothing
    weight = (-(1 - eps) * np.exp(log_sigmoid(-margin)) + eps * np.exp(log_sigmoid(margin))) * beta
    return (weight[:, None] * (eye[chosen] - eye[rejected])).mean(axis=0)


@dataclass
class TrainingRun:
    """The result of training the toy policy."""

    logits: np.ndarray  # final logits
    probs: np.ndarray  # (steps + 1, K): the policy's probabilities before each step and at the end
    history: pd.DataFrame  # one row per step


def train_ppo(
    ref_logprobs: np.ndarray,
    rewards: np.ndarray,
    beta: float = 0.1,
    clip: float = 0.2,
    lr: float = 1.0,
    iterations: int = 40,
    batch_size: int = 32,
    epochs: int = 4,
    seed: int = 0,
) -> TrainingRun:
    """PPO-clip on the KL-penalised reward r − β·log(π_old/π_ref), starting from the reference.

    Each iteration samples ``batch_size`` answers from the current policy, turns shaped rewards
    into advantages by subtracting their mean (the baseline), then takes ``epochs`` gradient
    steps on the clipped surrogate with those samples.
    """
    ref_logprobs, rewards = np.asarray(ref_logprobs, dtype=float), np.asarray(rewards, dtype=float)
    rng = np.random.default_rng(seed)
    logits = ref_logprobs.copy()
    rows, probs = [], []
    for iteration in range(iterations):
        logp = log_softmax(logits)
        probs.append(np.exp(logp))
        actions = rng.choice(len(logits), size=batch_size, p=np.exp(logp))
        logp_old = logp[actions]
        shaped = rewards[actions] - beta * (logp_old - ref_logprobs[actions])
        advantages = shaped - shaped.mean()
        for _ in range(epochs):
            logits = logits + lr * ppo_clip_grad(logits, actions, logp_old, advantages, clip)
        ratio = np.exp(log_softmax(logits)[actions] - logp_old)
        kl = float(kl_divergence(logp, ref_logprobs))
        rows.append(
            {
                "iteration": iteration,
                "expected_reward": float(np.exp(logp) @ rewards),
                "kl": kl,
                "objective": float(np.exp(logp) @ rewards) - beta * kl,
                "clipped_fraction": float(np.mean(np.abs(ratio - 1) > clip)),
            }
        )
    probs.append(np.exp(log_softmax(logits)))
    return TrainingRun(logits=logits, probs=np.array(probs), history=pd.DataFrame(rows))


def train_dpo(
    ref_logprobs: np.ndarray,
    chosen: np.ndarray,
    rejected: np.ndarray,
    beta: float = 0.1,
    lr: float = 5.0,
    steps: int = 100,
    label_smoothing: float = 0.0,
) -> TrainingRun:
    """Gradient descent on the mean DPO loss over pairs chosen[i] ≻ rejected[i], from the reference.

    ``label_smoothing`` > 0 trains conservative DPO (cDPO, see ``dpo_loss``).
    """
    ref_logprobs = np.asarray(ref_logprobs, dtype=float)
    chosen, rejected = np.asarray(chosen), np.asarray(rejected)
    logits = ref_logprobs.copy()
    rows, probs = [], []
    for step in range(steps):
        logp = log_softmax(logits)
        probs.append(np.exp(logp))
        loss = dpo_loss(
            logp[chosen],
            logp[rejected],
            ref_logprobs[chosen],
            ref_logprobs[rejected],
            beta,
            label_smoothing=label_smoothing,
        )
        rows.append({"step": step, "loss": loss, "kl": float(kl_divergence(logp, ref_logprobs))})
        logits = logits - lr * dpo_grad(
            logits, ref_logprobs, chosen, rejected, beta, label_smoothing
        )
    probs.append(np.exp(log_softmax(logits)))
    return TrainingRun(logits=logits, probs=np.array(probs), history=pd.DataFrame(rows))

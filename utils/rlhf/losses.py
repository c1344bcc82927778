"""The formulas of preference tuning and RL, in numpy: DPO, PPO-clip, KL estimators, GRPO.

Every function takes log-probabilities (natural log) as arrays, so the same code serves a
toy policy and a real language model's ``sequence_logprob`` values.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("mean", "none")


def log_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """log σ(x), computed without overflow for large |x|."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))


def _same_shape(**arrays) -> list[np.ndarray]:
    values = [np.asarray(a, dtype=float) for a in arrays.values()]
    shapes = {name: v.shape for name, v in zip(arrays, values, strict=True)}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"these arrays must have the same shape, got {shapes}")
    return values


def _reduce(values: np.ndarray, reduction: str) -> float | np.ndarray:
    if reduction == "mean":
        return float(values.mean())
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def dpo_implicit_rewards(
    policy_logps: np.ndarray, ref_logps: np.ndarray, beta: float = 0.1
) -> np.ndarray:
    """DPO's implicit reward of each response: β · (log π(y|x) − log π_ref(y|x))."""
    policy, ref = _same_shape(policy_logps=policy_logps, ref_logps=ref_logps)
    return beta * (policy - ref)


def dpo_loss(
    policy_chosen_logps: np.ndarray,
    policy_rejected_logps: np.ndarray,
    ref_chosen_logps: np.ndarray,
    ref_rejected_logps: np.ndarray,
    beta: float = 0.1,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> float | np.ndarray:
    """DPO loss −log σ(β[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)]) per preference pair.

    Arguments are sequence log-probabilities of the chosen and rejected responses under the
    policy and the frozen reference. ``reduction="mean"`` → float; ``"none"`` → one per pair.
    ``label_smoothing`` ε is conservative DPO (cDPO, Mitchell 2023, ericmitchell.ai/cdpo.pdf,
    Eq. 3): each label is taken to be wrong with probability ε, so the loss is
    (1 − ε)·(−log σ(m)) + ε·(−log σ(−m)), as in the DPO authors' code and TRL's
    ``DPOConfig(label_smoothing=ε)``. ε = 0 is plain DPO.
    """
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
    pc, pr, rc, rr = _same_shape(
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        ref_chosen_logps=ref_chosen_logps,
        ref_rejected_logps=ref_rejected_logps,
    )
    margin = dpo_implicit_rewards(pc, rc, beta) - dpo_implicit_rewards(pr, rr, beta)
    losses = -(1 - label_smoothing) * log_sigmoid(margin) - label_smoothing * log_sigmoid(-margin)
    return _reduce(losses, reduction)


def ppo_clip_objective(
    logp_new: np.ndarray,
    logp_old: np.ndarray,
    advantages: np.ndarray,
    clip: float = 0.2,
    reduction: str = "mean",
) -> float | np.ndarray:
    """PPO's clipped surrogate min(ρA, clip(ρ, 1−ε, 1+ε)A) with ρ = π_new/π_old (to maximise)."""
    new, old, adv = _same_shape(logp_new=logp_new, logp_old=logp_old, advantages=advantages)
    ratio = np.exp(new - old)
    clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip)
    return _reduce(np.minimum(ratio * adv, clipped * adv), reduction)


def kl_estimate(logp: np.ndarray, ref_logp: np.ndarray, kind: str = "k3") -> np.ndarray:
    """Per-sample estimates of KL(π‖π_ref) from samples of π (Schulman's k1, k2, k3).

    k1 = log π − log π_ref (unbiased, can be negative); k2 = ½(log π − log π_ref)²;
    k3 = (π_ref/π − 1) − log(π_ref/π) (unbiased and never negative).
    """
    logp, ref_logp = _same_shape(logp=logp, ref_logp=ref_logp)
    log_ratio = ref_logp - logp  # log(π_ref / π)
    if kind == "k1":
        return -log_ratio
    if kind == "k2":
        return 0.5 * log_ratio**2
    if kind == "k3":
        return np.expm1(log_ratio) - log_ratio
    raise ValueError(f"kind must be 'k1', 'k2' or 'k3', got {kind!r}")


def kl_divergence(logp: np.ndarray, ref_logp: np.ndarray) -> np.ndarray:
    """Exact KL(p‖q) = Σ p (log p − log q) over the last axis, from two full log-distributions."""
    logp, ref_logp = _same_shape(logp=logp, ref_logp=ref_logp)
    p = np.exp(logp)
    # where p = 0 the term is 0, whatever log q is (avoids 0 · −inf)
    log_ratio = np.where(p > 0, logp - ref_logp, 0.0)
    return (p * log_ratio).sum(axis=-1)


def grpo_advantages(rewards: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """GRPO's group-relative advantages (r − mean(group)) / (std(group) + eps).

    ``rewards`` has shape (G,) for one group of G answers to the same prompt, or (B, G) for B
    prompts. The standard deviation is the sample one (ddof=1), as in TRL's GRPOTrainer; a
    group whose rewards are all equal gets advantages of 0: it carries no learning signal.
    """
    rewards = np.asarray(rewards, dtype=float)
    if rewards.ndim not in (1, 2) or rewards.shape[-1] < 2:
        raise ValueError(
            f"rewards must have shape (G,) or (B, G) with G ≥ 2 answers per group, got {rewards.shape}"
        )
    mean = rewards.mean(axis=-1, keepdims=True)
    std = rewards.std(axis=-1, ddof=1, keepdims=True)
    return (rewards - mean) / (std + eps)

"""Self-checks and hints for notebook 10 (policy optimisation: PPO, DPO, GRPO)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.exercises import Check, guarded, helpers_used, hint_printer, not_yet, solved
from utils.rlhf import losses, toy_policy
from utils.rlhf.losses import dpo_loss, ppo_clip_objective

DPO_HELPERS = [dpo_loss, losses.dpo_implicit_rewards, losses.log_sigmoid, toy_policy.train_dpo]

hint = hint_printer(
    {
        1: [
            "Each response's implicit reward is β · (policy log-prob − reference log-prob); the "
            "margin is the chosen one's minus the rejected one's.",
            "Plain DPO's loss per pair is −log σ(margin); np.logaddexp(0, -m) computes −log σ(m) "
            "without overflow. If a label is wrong, the pair's margin has the other sign.",
            "With smoothing ε, average the two cases a label can be in: right with probability "
            "1 − ε (the plain loss of the margin) and wrong with probability ε (the plain loss "
            "of minus the margin). Return the mean over pairs as a float.",
        ],
        2: [
            "Subtract the group's mean reward, then divide by the group's standard deviation.",
            "If every answer got the same reward the std is 0: add a small eps (1e-4) to the "
            "denominator so the advantages are 0, not NaN.",
            "Centre the rewards on their mean, scale them by the spread of the group (the sample "
            "standard deviation with ddof 1, as TRL does; ddof 0 also passes) plus the small eps, and "
            "return an array of the group's shape.",
        ],
        3: [
            "ratio = exp(logp_new − logp_old). The term is the smaller of ratio·A and "
            "clip(ratio, 1 − ε, 1 + ε)·A.",
            "np.clip limits a value to a range; np.minimum takes the element-wise smaller of two "
            "arrays.",
            "Work per sample: the ratio from the two log-probs, the same ratio clipped to "
            "[1 − ε, 1 + ε], each multiplied by the advantage; keep the smaller of the two products.",
        ],
        4: [
            "model(ids) returns one row of logits per token; the LAST row predicts the next token.",
            "Loop n times: run the model on the whole sequence so far, take the argmax of the last "
            "row, append it. Return only the new ids.",
            "Keep a growing list that starts as a copy of the prompt; at each of the n steps the "
            "most likely next token is the argmax of the model's last row on that list; at the "
            "end, drop the prompt's part and return the rest as plain ints.",
        ],
    }
)


@guarded
def check_dpo_loss(my_dpo_loss: Callable) -> Check:
    """Exercise 1: ``my_dpo_loss(pc, pr, rc, rr, beta, smoothing)`` equals the mean (c)DPO loss."""
    used = helpers_used(my_dpo_loss, DPO_HELPERS)
    if used:
        return not_yet(f"write the loss yourself, without {used}: that is what the check checks.")
    same = np.array([-12.0, -3.5, -40.0])
    got = my_dpo_loss(same, same - 2, same, same - 2, 0.1, 0.0)
    if got is None or not np.isclose(got, np.log(2)):
        return not_yet(
            f"when the policy equals the reference the loss is log 2 ≈ 0.6931; you returned {got!r}."
        )
    rng = np.random.default_rng(4)
    for beta, smoothing in ((0.1, 0.0), (0.5, 0.0), (5.0, 0.0), (0.5, 0.1), (2.0, 0.3)):
        pc, pr, rc, rr = (rng.normal(-20, 8, size=6) for _ in range(4))
        got = my_dpo_loss(pc, pr, rc, rr, beta, smoothing)
        expected = dpo_loss(pc, pr, rc, rr, beta, label_smoothing=smoothing)
        if got is None or not np.isclose(got, expected):
            return not_yet(
                f"with beta={beta} and smoothing={smoothing} you returned {got!r}, expected "
                f"{expected:.6f}."
            )
    return solved("your DPO loss matches the reference, log 2 and label smoothing included.")


@guarded
def check_grpo_advantages(my_advantages: Callable) -> Check:
    """Exercise 2: ``my_advantages(rewards)`` for one group of shape (G,)."""
    used = helpers_used(my_advantages, [losses.grpo_advantages])
    if used:
        return not_yet(f"compute them yourself, without {used}: that is what the check checks.")
    flat = np.asarray(my_advantages(np.array([1.0, 1.0, 1.0, 1.0])), dtype=float)
    if not np.allclose(flat, 0):
        return not_yet(f"a group where every answer scores the same must give zeros, got {flat}.")
    for rewards in ([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0, 0.0], [2.0, -1.0, 0.5]):
        rewards = np.array(rewards)
        got = np.asarray(my_advantages(rewards), dtype=float)
        centred = rewards - rewards.mean()
        options = [centred / (rewards.std(ddof=d) + 1e-4) for d in (1, 0)]
        if got.shape != rewards.shape or not any(np.allclose(got, o, atol=1e-3) for o in options):
            return not_yet(
                f"for rewards {rewards.tolist()} you returned {np.round(got, 3).tolist()}, expected {np.round(options[0], 3).tolist()}."
            )
    return solved("your advantages are centred and scaled by the group's spread.")


@guarded
def check_ppo_term(my_ppo_term: Callable) -> Check:
    """Exercise 3: ``my_ppo_term(logp_new, logp_old, adv, clip)`` per sample."""
    used = helpers_used(my_ppo_term, [ppo_clip_objective, toy_policy.ppo_clip_grad])
    if used:
        return not_yet(f"write the term yourself, without {used}: that is what the check checks.")
    logp_old = np.log(np.full(6, 0.5))
    logp_new = np.log(np.array([0.5, 0.75, 0.25, 0.75, 0.25, 0.55]))
    adv = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -2.0])
    got = np.asarray(my_ppo_term(logp_new, logp_old, adv, 0.2), dtype=float)
    expected = ppo_clip_objective(logp_new, logp_old, adv, clip=0.2, reduction="none")
    if got.shape != expected.shape:
        return not_yet(f"return one value per sample: shape {expected.shape}, got {got.shape}.")
    wrong = np.flatnonzero(~np.isclose(got, expected))
    if wrong.size:
        i = int(wrong[0])
        ratio = float(np.exp(logp_new[i] - logp_old[i]))
        return not_yet(
            f"sample {i} (ratio {ratio:.2f}, advantage {adv[i]:+.0f}): you returned {got[i]:.3f}, expected {expected[i]:.3f}."
        )
    # a second batch it never prints, so values copied from the messages above do not pass
    rng = np.random.default_rng(10)
    logp_old, adv = np.log(rng.uniform(0.1, 0.9, 12)), rng.normal(size=12)
    logp_new = logp_old + rng.normal(0, 0.4, 12)
    got = np.asarray(my_ppo_term(logp_new, logp_old, adv, 0.3), dtype=float)
    expected = ppo_clip_objective(logp_new, logp_old, adv, clip=0.3, reduction="none")
    if got.shape != expected.shape or not np.allclose(got, expected):
        return not_yet(
            "right on the six samples above, but wrong on a second batch (12 samples, "
            "clip 0.3) that the check does not show: compute the term from the arguments."
        )
    return solved("every sample matches, including the ones where clipping binds.")


def _toy_model(ids) -> np.ndarray:
    """A stand-in language model over 10 tokens: its favourite next token depends on position."""
    logits = np.zeros((len(ids), 10))
    for t, token in enumerate(ids):
        logits[t, (3 * int(token) + t) % 10] = 1.0
    return logits


@guarded
def check_generate(my_generate: Callable) -> Check:
    """Exercise 4: ``my_generate(model, prompt_ids, n)`` returns n greedy next-token ids."""
    cases = [([4, 1, 7], 5), ([2, 9], 7), ([0, 5, 5, 3], 4)]  # only the first is ever named
    for case, (prompt, n) in enumerate(cases):
        ids = list(prompt)
        for _ in range(n):  # greedy decoding: the last row's argmax, appended
            ids.append(int(np.argmax(_toy_model(ids)[-1])))
        expected = ids[len(prompt) :]
        got = my_generate(_toy_model, list(prompt), n)
        got = [int(i) for i in got] if got is not None else None
        if got == ids:
            return not_yet("return only the n new token ids, not the prompt with them.")
        if got is None or len(got) != n:
            return not_yet(
                f"for {n} new tokens return a list of {n} token ids; you returned {got!r}."
            )
        if got[0] == int(np.argmax(_toy_model(prompt)[0])) and got != expected:
            return not_yet(
                "the next token is predicted by the LAST row of the logits, not the first."
            )
        if got != expected and case == 0:
            return not_yet(f"for prompt {prompt} greedy decoding gives other ids than yours {got}.")
        if got != expected:
            return not_yet(
                f"right for prompt {cases[0][0]}, but wrong for another prompt the check does "
                "not show: decode from the prompt you are given."
            )
    return solved("greedy decoding: the last row's argmax, appended, n times.")

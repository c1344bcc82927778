"""Self-checks and hints for notebook 11 (Mixture-of-Experts and scaling)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.model_size import count_parameters
from utils.moe import load_balancing_loss, softmax, top_k_gates

# Exercise 3's starting point: a small Mixtral-style config (sizes made up for the exercise).
BASE_CONFIG = {
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "vocab_size": 32000,
    "tie_word_embeddings": False,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
}
TOTAL_AT_LEAST = 20e9
ACTIVE_AT_MOST = 3e9

hint = hint_printer(
    {
        1: [
            "np.argsort sorts ascending; sort -probs (or reverse) to get the largest first.",
            "indices = np.argsort(-probs, axis=1)[:, :k]; gates = np.take_along_axis(probs, "
            "indices, axis=1); then divide each row of gates by its sum.",
        ],
        2: [
            "f_i = (assignments to expert i) / (all assignments); P_i = probs[:, i].mean(). "
            "np.bincount(indices.ravel(), minlength=N) counts assignments.",
            "loss = N * sum(f * P): with probs of shape (tokens, N). A perfectly balanced "
            "router scores exactly 1.0.",
        ],
        3: [
            "Total grows with num_local_experts; active grows with num_experts_per_tok. "
            "Print count_parameters(my_config) while you try values.",
            "Each expert here is 3 × 2048 × 5632 ≈ 34.6M parameters per layer, 24 layers: "
            "about 0.83B per expert in total. How many experts reach 20B?",
        ],
    }
)


def _cases(seed: int = 11) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [(softmax(rng.normal(0, 2, (12, n))), k) for n, k in [(4, 1), (8, 2), (16, 4), (6, 6)]]


@guarded
def check_top_k(my_top_k_gates: Callable[[np.ndarray, int], tuple]) -> Check:
    """Exercise 1: ``my_top_k_gates(probs, k)`` → (indices best first, renormalised gates)."""
    for probs, k in _cases():
        indices, gates = (np.asarray(a) for a in my_top_k_gates(probs, k))
        want_indices, want_gates = top_k_gates(probs, k)
        if indices.shape != want_indices.shape:
            return not_yet(
                f"for {probs.shape[0]} tokens and k={k} indices should have shape "
                f"{want_indices.shape}, yours has {indices.shape}."
            )
        if not np.array_equal(indices, want_indices):
            return not_yet(
                f"k={k}: token 0 should go to experts {want_indices[0].tolist()} "
                f"(best first), yours went to {indices[0].tolist()}."
            )
        if not np.allclose(gates.sum(axis=1), 1):
            return not_yet("each token's k gates should add up to 1: divide by their sum.")
        if not np.allclose(gates, want_gates):
            return not_yet(
                f"k={k}: token 0's gates should be {np.round(want_gates[0], 3)}, "
                f"yours are {np.round(gates[0], 3)}."
            )
    return solved("right experts, best first, and weights that sum to 1.")


@guarded
def check_balance_loss(my_balance_loss: Callable[[np.ndarray, np.ndarray], float]) -> Check:
    """Exercise 2: ``my_balance_loss(probs, indices)`` is N · Σ f_i · P_i."""
    n = 8
    uniform = np.full((16, n), 1 / n)
    round_robin = (np.arange(16) % n)[:, None]
    got = my_balance_loss(uniform, round_robin)
    if got is None or not np.isclose(got, 1.0):
        return not_yet(f"a perfectly balanced router should score 1.0; yours gave {got!r}.")
    collapsed = softmax(np.tile([9.0] + [0.0] * (n - 1), (16, 1)))
    got = my_balance_loss(collapsed, np.zeros((16, 1), dtype=int))
    want = load_balancing_loss(np.log(collapsed), np.zeros((16, 1), dtype=int))
    if not np.isclose(got, want):
        return not_yet(
            f"every token on expert 0 should score {want:.3f} (close to N={n}); yours gave {got!r}."
        )
    for probs, k in _cases():
        indices, _ = top_k_gates(probs, k)
        want = load_balancing_loss(np.log(probs), indices)
        got = my_balance_loss(probs, indices)
        if not np.isclose(got, want):
            return not_yet(
                f"with {probs.shape[1]} experts and k={k} the loss is {want:.4f}; "
                f"yours gave {got!r}. Is f divided by all assignments (tokens × k)?"
            )
    return solved("your loss matches N · Σ f_i · P_i on every case.")


@guarded
def check_moe_design(my_config: dict) -> Check:
    """Exercise 3: only the expert counts change; total ≥ 20B and active ≤ 3B parameters."""
    changed = {key for key in BASE_CONFIG if my_config.get(key) != BASE_CONFIG[key]}
    if changed - {"num_local_experts", "num_experts_per_tok"}:
        return not_yet(
            f"change only num_local_experts and num_experts_per_tok, not "
            f"{sorted(changed - {'num_local_experts', 'num_experts_per_tok'})}."
        )
    experts, k = my_config["num_local_experts"], my_config["num_experts_per_tok"]
    if not (isinstance(experts, int) and isinstance(k, int) and 1 <= k <= experts):
        return not_yet("use whole numbers with 1 ≤ num_experts_per_tok ≤ num_local_experts.")
    total, active = count_parameters(my_config)
    summary = (
        f"{experts} experts, {k} per token: {total / 1e9:.1f}B total, {active / 1e9:.2f}B active"
    )
    if total < TOTAL_AT_LEAST:
        return not_yet(f"{summary}; total must reach {TOTAL_AT_LEAST / 1e9:.0f}B: add experts.")
    if active > ACTIVE_AT_MOST:
        return not_yet(
            f"{summary}; active must stay ≤ {ACTIVE_AT_MOST / 1e9:.0f}B: fewer experts per token."
        )
    return solved(f"{summary} — {total / active:.0f}× more parameters stored than used per token.")

"""Self-checks and hints for notebook 11 (Mixture-of-Experts and scaling)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.exercises import Check, guarded, helpers_used, hint_printer, not_yet, solved
from utils.model_size import count_parameters, moe_layout, parameter_breakdown
from utils.moe import (
    dense_reference,
    load_balancing_loss,
    load_balancing_loss_grad,
    moe_forward,
    softmax,
    top_k_gates,
)

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
            "Per row: the indices of the k largest probabilities in falling order (argsort of "
            "the negated row, first k), then those probabilities picked out by those indices "
            "(np.take_along_axis does it for all rows at once), each row divided by its own sum.",
        ],
        2: [
            "f_i = (assignments to expert i) / (all assignments); P_i = probs[:, i].mean(). "
            "np.bincount(indices.ravel(), minlength=N) counts assignments.",
            "Both f and P are length-N vectors that sum to 1; the loss multiplies them expert by "
            "expert, adds up and scales by N. A perfectly balanced router scores exactly 1.0.",
        ],
        3: [
            "Total grows with num_local_experts; active grows with num_experts_per_tok. The "
            "rest of the model (attention, embeddings, norms) is the same in every design.",
            "Count what one expert adds in all 24 layers: a gated MLP is three 2048 × 5632 "
            "matrices, and the router grows by 2048 per expert per layer (every token uses the "
            "whole router). So total(E) is a fixed part plus E times (expert + router column), "
            "and active(k) another fixed part (no embedding lookup, the whole router of E "
            "experts) plus k experts. Work out the fixed parts once, outside `design`; inside "
            "it, solve each inequality for its budget, and round the right way.",
        ],
    }
)

MOE_HELPERS = [top_k_gates, moe_forward, dense_reference]
BALANCE_HELPERS = [load_balancing_loss, load_balancing_loss_grad]


def _cases(seed: int = 11) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [(softmax(rng.normal(0, 2, (12, n))), k) for n, k in [(4, 1), (8, 2), (16, 4), (6, 6)]]


@guarded
def check_top_k(my_top_k_gates: Callable[[np.ndarray, int], tuple]) -> Check:
    """Exercise 1: ``my_top_k_gates(probs, k)`` → (indices best first, renormalised gates)."""
    used = helpers_used(my_top_k_gates, MOE_HELPERS)
    if used:
        return not_yet(
            f"write the gating yourself, without {used}: that is what it is compared with."
        )
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
    used = helpers_used(my_balance_loss, BALANCE_HELPERS)
    if used:
        return not_yet(
            f"compute the loss yourself, without {used}: that is what it is compared with."
        )
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


def _counts(experts: int, per_token: int) -> tuple[int, int]:
    config = {**BASE_CONFIG, "num_local_experts": experts, "num_experts_per_tok": per_token}
    return count_parameters(config)


def _design(
    total_at_least: float = TOTAL_AT_LEAST, active_at_most: float = ACTIVE_AT_MOST
) -> tuple[int, int]:
    """The fewest experts that reach ``total_at_least``, the most per token within the other."""
    experts = next(e for e in range(1, 10_000) if _counts(e, 1)[0] >= total_at_least)
    per_token = max(k for k in range(1, experts + 1) if _counts(experts, k)[1] <= active_at_most)
    return experts, per_token


def _budgets() -> list[tuple[float, float]]:
    """The lesson's budget first, then others the learner never sees, two of them on a boundary."""
    exact_total = _counts(30, 1)[0]  # exactly 30 experts' total: ≥ means 30, not 31
    exact_active = _counts(40, 4)[1]  # exactly 4 per token's active count with 40 experts
    return [
        (TOTAL_AT_LEAST, ACTIVE_AT_MOST),
        (12e9, 2e9),
        (45e9, 5.5e9),
        (exact_total, 2.2e9),
        (_counts(39, 1)[0] + 1, exact_active),
    ]


def _is_whole(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


DESIGN_HELPERS = [count_parameters, _counts, _design, parameter_breakdown, moe_layout]


@guarded
def check_moe_design(design: Callable[[float, float], tuple[int, int]]) -> Check:
    """Exercise 3: ``design(total_at_least, active_at_most)`` → (fewest experts, most per token).

    Checked on the lesson's budget and on others it does not show; it says which limit fails
    on the lesson's budget and how many others are wrong, never by how much.
    """
    used = helpers_used(design, DESIGN_HELPERS)
    if used:
        return not_yet(
            f"`design` calls {used}: that searches instead of solving. Work out the fixed part "
            "and one expert's size once, outside `design` (or by hand), and solve for each limit "
            "inside it."
        )
    (total_at_least, active_at_most), *others = _budgets()
    experts, per_token = design(total_at_least, active_at_most)
    if not (_is_whole(experts) and _is_whole(per_token) and 1 <= per_token <= experts):
        return not_yet("return two whole numbers with 1 ≤ per_token ≤ experts.")
    total, active = _counts(experts, per_token)
    fewest, most = _design(total_at_least, active_at_most)
    if total < total_at_least:
        return not_yet(f"with {experts} experts the total stays under {total_at_least / 1e9:.0f}B.")
    if active > active_at_most:
        return not_yet(
            f"{per_token} experts per token are over {active_at_most / 1e9:.0f}B active."
        )
    if experts != fewest:
        return not_yet("both limits hold, but fewer experts would reach the total too.")
    if per_token != most:
        return not_yet("both limits hold, but a token could use more experts and stay in budget.")
    wrong = sum(tuple(design(t, a)) != _design(t, a) for t, a in others)
    if wrong:
        return not_yet(
            f"right for 20B and 3B, but wrong for {wrong} of {len(others)} other budgets: solve "
            "the two inequalities from the budget you are given (and round the right way at "
            "the boundary), rather than returning the design for this one."
        )
    return solved(
        f"{experts} experts, {per_token} per token: {total / 1e9:.1f}B stored, "
        f"{active / 1e9:.2f}B used per token ({total / active:.0f}× more stored than used), "
        f"and right for {len(others)} other budgets."
    )

"""A Mixture-of-Experts layer in plain numpy: routing, top-k gating, load balance, capacity.

Shapes: ``x`` is ``(tokens, d_model)``; a router has ``n_experts`` columns; ``indices`` and
``gates`` are ``(tokens, k)``: the experts each token is sent to and the weight of each.
Every function here is small enough to read next to notebook 11, which uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MoELayer:
    """The weights of one MoE feed-forward layer: a router and ``n_experts`` small MLPs."""

    w_router: np.ndarray  # (d_model, n_experts)
    w_in: np.ndarray  # (n_experts, d_model, d_hidden)
    w_out: np.ndarray  # (n_experts, d_hidden, d_model)
    k: int  # experts per token

    @property
    def n_experts(self) -> int:
        return self.w_router.shape[1]


def make_moe_layer(d_model: int, d_hidden: int, n_experts: int, k: int, seed: int = 0) -> MoELayer:
    """A randomly initialised MoE layer (scaled so activations stay around 1)."""
    if not 1 <= k <= n_experts:
        raise ValueError(f"k must be between 1 and n_experts={n_experts}, got k={k}")
    rng = np.random.default_rng(seed)
    return MoELayer(
        w_router=rng.normal(0, 1 / np.sqrt(d_model), (d_model, n_experts)),
        w_in=rng.normal(0, 1 / np.sqrt(d_model), (n_experts, d_model, d_hidden)),
        w_out=rng.normal(0, 1 / np.sqrt(d_hidden), (n_experts, d_hidden, d_model)),
        k=k,
    )


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, computed stably (the largest logit is subtracted first)."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


def top_k_gates(
    probs: np.ndarray, k: int, renormalize: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable experts per token, best first, and their gate weights.

    ``renormalize=True`` rescales each token's k weights to sum to 1 (Mixtral, DeepSeek-V3);
    ``False`` keeps the raw router probabilities (the Switch Transformer with k=1).
    """
    if not 1 <= k <= probs.shape[-1]:
        raise ValueError(f"k must be between 1 and the number of experts, got k={k}")
    indices = np.argsort(-probs, axis=-1, kind="stable")[:, :k]  # (tokens, k)
    gates = np.take_along_axis(probs, indices, axis=-1)
    if renormalize:
        gates = gates / gates.sum(axis=-1, keepdims=True)
    return indices, gates


def route(layer: MoELayer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Router logits → softmax → top-k: returns ``(indices, gates, probs)``."""
    probs = softmax(x @ layer.w_router)  # (tokens, n_experts)
    indices, gates = top_k_gates(probs, layer.k)
    return indices, gates, probs


def expert_mlp(layer: MoELayer, expert: int, x: np.ndarray) -> np.ndarray:
    """One expert's output for the rows of ``x``: ``relu(x @ w_in) @ w_out``."""
    return np.maximum(x @ layer.w_in[expert], 0) @ layer.w_out[expert]


def moe_forward(layer: MoELayer, x: np.ndarray) -> np.ndarray:
    """The sparse MoE output: each expert runs only on the tokens routed to it."""
    indices, gates, _ = route(layer, x)
    y = np.zeros_like(x)
    for expert in range(layer.n_experts):
        tokens, slot = np.nonzero(indices == expert)  # who chose this expert, in which slot
        if len(tokens):
            y[tokens] += gates[tokens, slot, None] * expert_mlp(layer, expert, x[tokens])
    return y


def dense_gate_matrix(indices: np.ndarray, gates: np.ndarray, n_experts: int) -> np.ndarray:
    """The ``(tokens, n_experts)`` matrix of gate weights, zero for experts not chosen."""
    matrix = np.zeros((indices.shape[0], n_experts))
    np.put_along_axis(matrix, indices, gates, axis=-1)
    return matrix


def dense_reference(layer: MoELayer, x: np.ndarray) -> np.ndarray:
    """The same maths computed densely: every expert on every token, weighted by the gates."""
    indices, gates, _ = route(layer, x)
    weights = dense_gate_matrix(indices, gates, layer.n_experts)  # (tokens, n_experts)
    outputs = np.stack([expert_mlp(layer, e, x) for e in range(layer.n_experts)], axis=1)
    return np.einsum("te,ted->td", weights, outputs)


def expert_counts(indices: np.ndarray, n_experts: int) -> np.ndarray:
    """How many (token, slot) assignments each expert received."""
    return np.bincount(indices.ravel(), minlength=n_experts)


def load_balancing_loss(logits: np.ndarray, indices: np.ndarray) -> float:
    """Switch/GShard auxiliary loss ``N · Σ_i f_i · P_i``; 1.0 when perfectly balanced.

    ``f_i``: the fraction of assignments that went to expert i (from ``indices``, which the
    loss treats as constant); ``P_i``: the mean router probability of expert i.
    """
    n_experts = logits.shape[-1]
    f = expert_counts(indices, n_experts) / indices.size
    p = softmax(logits).mean(axis=0)
    return float(n_experts * np.sum(f * p))


def load_balancing_loss_grad(logits: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The gradient of :func:`load_balancing_loss` with respect to ``logits``.

    With ``p = softmax(z_t)``: ``dL/dz_tj = N/T · p_tj · (f_j − Σ_i f_i p_ti)``.
    """
    n_tokens, n_experts = logits.shape
    f = expert_counts(indices, n_experts) / indices.size
    probs = softmax(logits)
    return n_experts / n_tokens * probs * (f[None, :] - (probs @ f)[:, None])


def expert_capacity(n_tokens: int, n_experts: int, k: int, capacity_factor: float) -> int:
    """Slots per expert: ``ceil(capacity_factor · tokens · k / n_experts)``."""
    return int(np.ceil(capacity_factor * n_tokens * k / n_experts))


def overflow_mask(indices: np.ndarray, n_experts: int, capacity: int) -> np.ndarray:
    """True for each (token, slot) assignment that finds its expert already full.

    Tokens are served in order (first come, first served); a token's first choices are
    placed before anyone's second choices, as in GShard.
    """
    seen = np.zeros(n_experts, dtype=int)
    dropped = np.zeros(indices.shape, dtype=bool)
    for slot in range(indices.shape[1]):
        for token in range(indices.shape[0]):
            expert = indices[token, slot]
            dropped[token, slot] = seen[expert] >= capacity
            seen[expert] += 1
    return dropped


def toy_regression_data(
    n_tokens: int = 512, d_model: int = 8, n_clusters: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens from ``n_clusters`` clusters; each cluster has its own linear target map."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n_tokens)
    centres = rng.normal(0, 2, (n_clusters, d_model))
    maps = rng.normal(0, 1 / np.sqrt(d_model), (n_clusters, d_model, d_model))
    x = centres[cluster] + rng.normal(0, 1, (n_tokens, d_model))
    y = np.einsum("td,tde->te", x, maps[cluster])
    return x, y


@dataclass
class ToyRun:
    """What :func:`train_toy_moe` recorded: one entry per step."""

    task_loss: list[float]  # mean squared error
    balance_loss: list[float]  # N · Σ f_i · P_i
    counts: np.ndarray  # (steps, n_experts): tokens per expert
    indices: np.ndarray  # (tokens, k): the final routing


def train_toy_moe(
    x: np.ndarray,
    y: np.ndarray,
    n_experts: int = 8,
    k: int = 1,
    balance_coef: float = 0.0,
    steps: int = 300,
    lr: float = 0.2,
    seed: int = 0,
) -> ToyRun:
    """Train linear experts and their router by gradient descent on MSE + balance_coef · balance.

    Gates are the raw router probabilities of the chosen experts (Switch-style), so the task
    loss reaches the router even with ``k=1``.
    """
    rng = np.random.default_rng(seed)
    d_model = x.shape[1]
    w_router = rng.normal(0, 1 / np.sqrt(d_model), (d_model, n_experts))
    w_expert = rng.normal(0, 1 / np.sqrt(d_model), (n_experts, d_model, y.shape[1]))
    run = ToyRun([], [], np.zeros((steps, n_experts), dtype=int), np.empty(0))
    for step in range(steps):
        logits = x @ w_router
        probs = softmax(logits)
        indices, gates = top_k_gates(probs, k, renormalize=False)
        outputs = np.einsum("td,tkde->tke", x, w_expert[indices])  # each chosen expert's answer
        error = np.einsum("tk,tke->te", gates, outputs) - y
        run.task_loss.append(float(np.mean(error**2)))
        run.balance_loss.append(load_balancing_loss(logits, indices))
        run.counts[step] = expert_counts(indices, n_experts)

        d_pred = 2 * error / error.size  # dLoss/dprediction
        d_expert = np.zeros_like(w_expert)
        d_logits = balance_coef * load_balancing_loss_grad(logits, indices)
        for slot in range(k):
            chosen = indices[:, slot]
            np.add.at(d_expert, chosen, np.einsum("t,td,te->tde", gates[:, slot], x, d_pred))
            d_gate = np.sum(d_pred * outputs[:, slot], axis=1)  # (tokens,)
            one_hot = np.eye(n_experts)[chosen]
            d_logits += (d_gate * gates[:, slot])[:, None] * (one_hot - probs)  # softmax rule
        w_router -= lr * x.T @ d_logits
        w_expert -= lr * d_expert
    run.indices = indices
    return run

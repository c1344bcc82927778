"""The language model's forward pass in numpy: token ids in, hidden states and logits out.

The model the course's local server runs is these few functions plus the weights in its GGUF
file (``utils.rlhf.gguf_weights``). A llama-family transformer:

    x = embedding[tokens]
    for each block:   x += attention(rms_norm(x))       # RoPE, grouped-query, causal
                      x += feed_forward(rms_norm(x))    # SwiGLU
    hidden = rms_norm(x);  logits = hidden @ output.T

Everything is computed in float32 (weights stored as float16 are converted at each use).
The server's llama.cpp multiplies 4-bit weights by 8-bit-rounded activations instead, so the
two agree closely but not to the last digit (``tests/test_rlhf_forward.py`` measures it).
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from utils.rlhf.gguf_weights import Layer, ModelConfig, Weights

try:  # threadpoolctl sets how many threads numpy's BLAS uses (pip install threadpoolctl)
    from threadpoolctl import ThreadpoolController
except ImportError:  # without it BLAS uses every core, even on a busy machine
    ThreadpoolController = None

MAX_TOKENS = 1024  # per forward pass: attention keeps heads × T × T scores in memory


@functools.cache
def _blas() -> ThreadpoolController | None:
    return ThreadpoolController() if ThreadpoolController is not None else None


def blas_threads() -> contextlib.AbstractContextManager:
    """Limit numpy's BLAS to the local server's thread count while a pass runs.

    That is every core on a quiet machine and one fewer on a busy one
    (``utils.local_server.serving_threads``): BLAS threads wait for each other at every
    product. Measured on 2 cores at load 2–3, one scored answer took 1.9 s with 2 threads and
    0.27 s with 1.
    """
    from utils.local_server import serving_threads  # the same rule for the same model

    controller = _blas()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=serving_threads(), user_api="blas")


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """Scale each row to root-mean-square 1, then by ``weight`` (no mean subtraction, no bias)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x @ W.T (+ bias), in float32 whatever ``w`` is stored as."""
    y = x @ w.astype(np.float32, copy=False).T
    return y if bias is None else y + bias


def rope(x: np.ndarray, positions: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Rotary position embedding: rotate pairs of each head's numbers by position · θ_i.

    ``x`` is (heads, T, head_dim). Pair i turns by angle position · base^(−2i/d): fast
    for the first pairs, slowly for the last. Which numbers form a pair depends on how the
    GGUF stores Q and K: neighbours (2i, 2i+1) for llama, halves (i, i + d/2) for qwen2.
    """
    dims, half = config.rope_dims, config.rope_dims // 2
    theta = config.rope_base ** (-np.arange(half) * 2.0 / dims)
    angle = positions[:, None] * theta[None, :]  # (T, half)
    cos, sin = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    rotated, rest = x[..., :dims], x[..., dims:]
    if config.rope_layout == "neighbours":
        a, b = rotated[..., 0::2], rotated[..., 1::2]
        turned = np.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(rotated.shape)
    else:
        a, b = rotated[..., :half], rotated[..., half:]
        turned = np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
    return np.concatenate([turned, rest], axis=-1)


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax over the last axis (max subtracted first, so it never overflows)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(
    layer: Layer, h: np.ndarray, positions: np.ndarray, config: ModelConfig
) -> np.ndarray:
    """Causal grouped-query self-attention of the (T, n_embd) rows ``h``."""
    T, d = len(h), config.head_dim
    q = linear(h, layer.wq, layer.bq).reshape(T, config.n_heads, d).transpose(1, 0, 2)
    k = linear(h, layer.wk, layer.bk).reshape(T, config.n_kv_heads, d).transpose(1, 0, 2)
    v = linear(h, layer.wv, layer.bv).reshape(T, config.n_kv_heads, d).transpose(1, 0, 2)
    q, k = rope(q, positions, config), rope(k, positions, config)
    group = config.n_heads // config.n_kv_heads  # query heads that share one key/value head
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)  # (heads, T, T)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)  # a token never sees the ones after it
    scores[:, future] = -np.inf
    out = softmax(scores) @ v  # (heads, T, d)
    return linear(out.transpose(1, 0, 2).reshape(T, config.n_heads * d), layer.wo)


def feed_forward(layer: Layer, h: np.ndarray) -> np.ndarray:
    """SwiGLU: down(silu(gate(h)) · up(h)), silu(z) = z · σ(z)."""
    gate, up = linear(h, layer.w_gate), linear(h, layer.w_up)
    return linear(gate / (1.0 + np.exp(-gate)) * up, layer.w_down)


def check_tokens(weights: Weights, token_ids) -> np.ndarray:
    """``token_ids`` as an int array, or a ValueError that says what is wrong with them."""
    ids = np.asarray(token_ids)
    limit = min(MAX_TOKENS, weights.config.context_length)
    if ids.ndim != 1 or len(ids) == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("token_ids must be a non-empty list of integer token ids")
    if len(ids) > limit:
        raise ValueError(
            f"{len(ids)} tokens; the numpy forward pass takes at most {limit} at once. Shorten them."
        )
    if ids.min() < 0 or ids.max() >= weights.config.vocab_size:
        raise ValueError(f"token ids must lie in 0 … {weights.config.vocab_size - 1}")
    return ids


def forward(weights: Weights, token_ids) -> np.ndarray:
    """Final hidden states, one row per token: shape (T, n_embd), after the last RMSNorm.

    Row t has read tokens 0 … t only; ``logits(weights, row)`` is its next-token prediction.
    """
    ids, config = check_tokens(weights, token_ids), weights.config
    positions = np.arange(len(ids), dtype=np.float64)
    x = weights.token_embd[ids].astype(np.float32)  # (T, n_embd): the residual stream
    with blas_threads():
        for layer in weights.layers:
            h = rms_norm(x, layer.attn_norm, config.norm_eps)
            x = x + attention(layer, h, positions, config)
            x = x + feed_forward(layer, rms_norm(x, layer.ffn_norm, config.norm_eps))
    return rms_norm(x, weights.output_norm, config.norm_eps)


def logits(weights: Weights, hidden: np.ndarray) -> np.ndarray:
    """Next-token scores over the vocabulary for each row of ``hidden``: (rows, vocab_size)."""
    with blas_threads():
        return linear(hidden, weights.output)

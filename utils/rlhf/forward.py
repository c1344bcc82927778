"""The language model's forward pass in numpy: token ids in, hidden states and logits out.

The model the course's local server runs is these few functions plus the weights in its GGUF
file (``utils.rlhf.gguf_weights``). A llama-family transformer:

    x = embedding[tokens]
    for each block:   x += attention(rms_norm(x))       # RoPE, grouped-query, causal
                      x += feed_forward(rms_norm(x))    # SwiGLU
    hidden = rms_norm(x);  logits = hidden @ output.T

Everything is computed in float32 (weights stored as float16 are converted at each use).
``KVCache`` keeps every layer's keys and values, so texts that start alike (one chat template,
one prompt with several answers) read their shared start once (``utils.rlhf.embeddings``).
The server's llama.cpp multiplies the quantised weights by 8-bit-rounded activations instead, so the
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


class KVCache:
    """Every layer's keys and values (after RoPE) for the tokens read so far.

    Attention is causal, so a token's keys and values depend only on the tokens up to it:
    two texts that begin alike have the same ones over their shared start. ``keep`` a
    shared start, then ``forward(weights, more_ids, cache)`` reads only the tokens after it.
    """

    def __init__(self) -> None:
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []  # (keys, values): (kv_heads, T, d)

    def __len__(self) -> int:
        return self.layers[0][0].shape[1] if self.layers else 0

    def keep(self, positions) -> None:
        """Keep only these cached positions (in this order): ``range(n)`` keeps the first n."""
        index = np.asarray(list(positions), dtype=int)
        self.layers = [(k[:, index], v[:, index]) for k, v in self.layers]


def causal(n_new: int, n_cached: int = 0) -> np.ndarray:
    """Who sees whom: (n_new, n_cached + n_new), True where a new token may read a key.

    New token i sits at position n_cached + i and sees every cached token and itself, never
    a later token.
    """
    return np.tri(n_new, n_cached + n_new, k=n_cached, dtype=bool)


def attention(
    layer: Layer,
    h: np.ndarray,
    positions: np.ndarray,
    config: ModelConfig,
    past: tuple[np.ndarray, np.ndarray] | None = None,
    sees: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Grouped-query self-attention of the (T, n_embd) rows ``h``, causal unless ``sees`` says.

    ``past`` holds the (keys, values) of the tokens read before these, if any; ``sees`` is
    which keys (past, then these) each row may read. Returns the output and the (keys,
    values) of every token so far, these included.
    """
    T, d = len(h), config.head_dim
    q = linear(h, layer.wq, layer.bq).reshape(T, config.n_heads, d).transpose(1, 0, 2)
    k = linear(h, layer.wk, layer.bk).reshape(T, config.n_kv_heads, d).transpose(1, 0, 2)
    v = linear(h, layer.wv, layer.bv).reshape(T, config.n_kv_heads, d).transpose(1, 0, 2)
    q, k = rope(q, positions, config), rope(k, positions, config)
    if past is not None:
        k, v = np.concatenate([past[0], k], axis=1), np.concatenate([past[1], v], axis=1)
    if sees is None:
        sees = causal(T, k.shape[1] - T)  # a token never sees the ones after it
    group = config.n_heads // config.n_kv_heads  # query heads that share one key/value head
    keys, values = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ keys.transpose(0, 2, 1) / math.sqrt(d)  # (heads, T, past + T)
    scores[:, ~sees] = -np.inf
    out = softmax(scores) @ values  # (heads, T, d)
    return linear(out.transpose(1, 0, 2).reshape(T, config.n_heads * d), layer.wo), (k, v)


def feed_forward(layer: Layer, h: np.ndarray) -> np.ndarray:
    """SwiGLU: down(silu(gate(h)) · up(h)), silu(z) = z · σ(z)."""
    gate, up = linear(h, layer.w_gate), linear(h, layer.w_up)
    return linear(gate / (1.0 + np.exp(-gate)) * up, layer.w_down)


def check_tokens(weights: Weights, token_ids, last_position: int | None = None) -> np.ndarray:
    """``token_ids`` as an int array, or a ValueError that says what is wrong with them.

    ``last_position`` is the highest position they take (default: one after another from 0).
    """
    ids = np.asarray(token_ids)
    limit = min(MAX_TOKENS, weights.config.context_length)
    if ids.ndim != 1 or len(ids) == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("token_ids must be a non-empty list of integer token ids")
    length = len(ids) if last_position is None else last_position + 1
    if length > limit:
        raise ValueError(
            f"{length} tokens; the numpy forward pass takes at most {limit} at once. Shorten them."
        )
    if ids.min() < 0 or ids.max() >= weights.config.vocab_size:
        raise ValueError(f"token ids must lie in 0 … {weights.config.vocab_size - 1}")
    return ids


def forward(
    weights: Weights,
    token_ids,
    cache: KVCache | None = None,
    positions=None,
    sees: np.ndarray | None = None,
) -> np.ndarray:
    """Final hidden states, one row per token: shape (T, n_embd), after the last RMSNorm.

    Row t has read tokens 0 … t only; ``logits(weights, row)`` is its next-token prediction.
    With a ``cache``, ``token_ids`` follow the tokens it holds, and the cache then holds
    these too. ``positions`` and ``sees`` (see ``causal``) let one pass read several texts
    side by side (``utils.rlhf.embeddings``); by default the tokens follow one another.
    """
    start = len(cache) if cache is not None else 0
    if positions is None:
        positions = np.arange(start, start + len(token_ids))
    positions = np.asarray(positions, dtype=np.float64)
    last = int(positions.max()) if positions.size else None
    ids, config = check_tokens(weights, token_ids, last), weights.config
    x = weights.token_embd[ids].astype(np.float32)  # (T, n_embd): the residual stream
    past = cache.layers if cache is not None and cache.layers else [None] * len(weights.layers)
    kept = []
    with blas_threads():
        for layer, layer_past in zip(weights.layers, past, strict=True):
            h = rms_norm(x, layer.attn_norm, config.norm_eps)
            mixed, keys_values = attention(layer, h, positions, config, layer_past, sees)
            kept.append(keys_values)
            x = x + mixed
            x = x + feed_forward(layer, rms_norm(x, layer.ffn_norm, config.norm_eps))
    if cache is not None:
        cache.layers = kept
    return rms_norm(x, weights.output_norm, config.norm_eps)


def logits(weights: Weights, hidden: np.ndarray) -> np.ndarray:
    """Next-token scores over the vocabulary for each row of ``hidden``: (rows, vocab_size)."""
    with blas_threads():
        return linear(hidden, weights.output)

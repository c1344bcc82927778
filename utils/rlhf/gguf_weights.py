"""A GGUF file's weights and hyperparameters as numpy arrays, for ``utils.rlhf.forward``.

The local server reads the same file: every number the numpy forward pass uses comes from
it. ``gguf`` (ggml-org's own package) parses the file; ``gguf.quants.dequantize`` turns the
4-bit and 8-bit blocks back into floats. A small model's matrices are kept as float32 (540 MB
for SmolLM2-135M), a bigger one's as float16 (half the memory). float16 costs time: numpy
converts it back to float32 for every product, slowly (~0.4 billion numbers a second here).
Measured on 2 busy cores, one scored answer (62 tokens) took 0.47 s from float32 weights
and 1.0 s from float16 (``benchmarks/numpy_scoring.py``).

Supported architectures: ``llama`` (SmolLM2, Llama 2-style models) and ``qwen2`` (Qwen2 and
Qwen2.5, which add biases to Q, K and V). Anything else is refused with a clear error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED = ("llama", "qwen2")
# RoPE rotates pairs of numbers in each head. llama.cpp's converter permutes llama's Q/K rows
# so that the pairs are neighbours (0,1), (2,3), ...; qwen2 keeps the Hugging Face layout,
# where dimension i pairs with i + head_dim/2 ("neox" in llama.cpp).
ROPE_LAYOUT = {"llama": "neighbours", "qwen2": "halves"}
FLOAT32_UP_TO = 2.5e9  # bytes: models up to ~600M parameters keep float32 weights
MAX_BYTES = 4e9  # ~2B parameters as float16: past that, a numpy forward pass is not practical


class UnsupportedModelError(ValueError):
    """The GGUF holds a model the numpy forward pass cannot run; the message says why."""


@dataclass(frozen=True)
class ModelConfig:
    """The hyperparameters the forward pass needs, read from the GGUF's metadata."""

    architecture: str  # "llama" or "qwen2"
    n_layers: int  # transformer blocks
    n_embd: int  # width of the residual stream (576 for SmolLM2-135M)
    n_heads: int  # query heads
    n_kv_heads: int  # key/value heads, shared by n_heads // n_kv_heads query heads each
    head_dim: int
    n_ff: int  # hidden width of the feed-forward block
    vocab_size: int
    context_length: int  # tokens the model was trained on
    rope_base: float  # θ_i = position · rope_base^(−2i / rope_dims)
    rope_dims: int  # dimensions of each head that RoPE rotates
    rope_layout: str  # "neighbours" or "halves" (see ROPE_LAYOUT)
    norm_eps: float  # RMSNorm's ε


@dataclass(frozen=True)
class Layer:
    """One transformer block's weights. Matrices are (out, in): y = x @ W.T (+ bias)."""

    attn_norm: np.ndarray  # (n_embd,)
    wq: np.ndarray  # (n_heads · head_dim, n_embd)
    wk: np.ndarray  # (n_kv_heads · head_dim, n_embd)
    wv: np.ndarray  # (n_kv_heads · head_dim, n_embd)
    wo: np.ndarray  # (n_embd, n_heads · head_dim)
    ffn_norm: np.ndarray  # (n_embd,)
    w_gate: np.ndarray  # (n_ff, n_embd)
    w_up: np.ndarray  # (n_ff, n_embd)
    w_down: np.ndarray  # (n_embd, n_ff)
    bq: np.ndarray | None = None  # qwen2 only: biases of Q, K, V
    bk: np.ndarray | None = None
    bv: np.ndarray | None = None


@dataclass(frozen=True)
class Weights:
    """A whole model: its configuration, token embeddings, blocks and output layer."""

    config: ModelConfig
    path: Path
    token_embd: np.ndarray  # (vocab_size, n_embd): one row per token
    layers: list[Layer]
    output_norm: np.ndarray  # (n_embd,)
    output: np.ndarray  # (vocab_size, n_embd); the same array as token_embd when tied

    @property
    def n_parameters(self) -> int:
        """Parameters counted once (a tied output matrix is the embedding, not a copy)."""
        arrays = [self.token_embd, self.output_norm]
        if self.output is not self.token_embd:
            arrays.append(self.output)
        for layer in self.layers:
            arrays += [a for a in vars(layer).values() if a is not None]
        return sum(a.size for a in arrays)


def _field(reader, key: str, default=None):
    field = reader.get_field(key)
    if field is None:
        if default is None:
            raise UnsupportedModelError(f"The GGUF has no {key!r} in its metadata")
        return default
    return field.contents()


def read_config(reader) -> ModelConfig:
    """The model's hyperparameters from an open ``gguf.GGUFReader``; refuses what we cannot run."""
    arch = _field(reader, "general.architecture")
    if arch not in SUPPORTED:
        raise UnsupportedModelError(
            f"The numpy forward pass runs {' and '.join(SUPPORTED)} models; this GGUF is "
            f"{arch!r}. Use the bundled SmolLM2 (unset COOKBOOK_LOCAL_MODEL) or a Qwen2.5 GGUF."
        )
    if _field(reader, "split.count", 1) > 1:
        raise UnsupportedModelError(
            "This GGUF is split into several files; the numpy forward pass reads one file. "
            "Use a model small enough to come in one file (SmolLM2, Qwen2.5-0.5B or 1.5B)."
        )
    scaling = _field(reader, f"{arch}.rope.scaling.type", "none")
    if scaling != "none" or any(t.name == "rope_freqs.weight" for t in reader.tensors):
        raise UnsupportedModelError(
            "This model stretches RoPE for long contexts (rope scaling or rope_freqs, as in "
            "Llama 3.1); the numpy forward pass implements plain RoPE only."
        )
    n_embd = _field(reader, f"{arch}.embedding_length")
    n_heads = _field(reader, f"{arch}.attention.head_count")
    head_dim = _field(reader, f"{arch}.attention.key_length", n_embd // n_heads)
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    return ModelConfig(
        architecture=arch,
        n_layers=_field(reader, f"{arch}.block_count"),
        n_embd=n_embd,
        n_heads=n_heads,
        n_kv_heads=_field(reader, f"{arch}.attention.head_count_kv", n_heads),
        head_dim=head_dim,
        n_ff=_field(reader, f"{arch}.feed_forward_length"),
        vocab_size=_field(reader, f"{arch}.vocab_size", int(embd.shape[1])),
        context_length=_field(reader, f"{arch}.context_length"),
        rope_base=float(_field(reader, f"{arch}.rope.freq_base", 10000.0)),
        rope_dims=_field(reader, f"{arch}.rope.dimension_count", head_dim),
        rope_layout=ROPE_LAYOUT[arch],
        norm_eps=float(_field(reader, f"{arch}.attention.layer_norm_rms_epsilon")),
    )


def _dequantize(tensor, dtype) -> np.ndarray:
    """One tensor as floats, in numpy's (rows, columns) order."""
    from gguf.quants import dequantize

    try:
        values = dequantize(tensor.data, tensor.tensor_type)
    except NotImplementedError as error:
        raise UnsupportedModelError(
            f"{tensor.name} is stored as {tensor.tensor_type.name}, which gguf cannot "
            "dequantize in numpy. Use a GGUF quantized as Q4_K_M, Q8_0 or similar."
        ) from error
    # GGUF lists dimensions fastest-first ([n_embd, vocab]); numpy wants (vocab, n_embd)
    shape = tuple(int(n) for n in reversed(tensor.shape))
    # np.array, not .astype: a plain array in memory, not a view of the file (a np.memmap)
    return np.array(values.reshape(shape), dtype=np.float32 if len(shape) == 1 else dtype)


def storage_dtype(n_values: int) -> type:
    """float32 for a model whose weights fit in ``FLOAT32_UP_TO`` bytes as float32, else float16."""
    return np.float32 if n_values * 4 <= FLOAT32_UP_TO else np.float16


def load_weights(path: str | Path, dtype=None) -> Weights:
    """Read every weight of the GGUF at ``path``: matrices as ``dtype`` (default: ``storage_dtype``)."""
    try:
        from gguf import GGUFReader
    except ImportError as error:
        raise ImportError(
            "Reading GGUF weights needs the `gguf` package: pip install -e '.[local]'"
        ) from error
    reader = GGUFReader(path)
    config = read_config(reader)
    n_values = sum(int(t.n_elements) for t in reader.tensors)
    dtype = dtype or storage_dtype(n_values)
    n_bytes = n_values * np.dtype(dtype).itemsize
    if n_bytes > MAX_BYTES:
        raise UnsupportedModelError(
            f"This model has {n_values / 1e9:.1f}B parameters ({n_bytes / 1e9:.1f} GB in memory): "
            "too large for a numpy forward pass. Use the bundled SmolLM2 or Qwen2.5-0.5B/1.5B."
        )
    tensors = {t.name: t for t in reader.tensors}

    def get(name: str) -> np.ndarray | None:
        return _dequantize(tensors[name], dtype) if name in tensors else None

    def layer(i: int) -> Layer:
        names = {
            "attn_norm": "attn_norm.weight", "wq": "attn_q.weight", "wk": "attn_k.weight",
            "wv": "attn_v.weight", "wo": "attn_output.weight", "ffn_norm": "ffn_norm.weight",
            "w_gate": "ffn_gate.weight", "w_up": "ffn_up.weight", "w_down": "ffn_down.weight",
            "bq": "attn_q.bias", "bk": "attn_k.bias", "bv": "attn_v.bias",
        }  # fmt: skip
        arrays = {field: get(f"blk.{i}.{name}") for field, name in names.items()}
        missing = [names[f] for f, a in arrays.items() if a is None and not f.startswith("b")]
        if missing:
            raise UnsupportedModelError(
                f"block {i} has no {', '.join(missing)}: not a {config.architecture} block we know"
            )
        return Layer(**arrays)

    token_embd = get("token_embd.weight")
    output = get("output.weight")
    return Weights(
        config=config,
        path=Path(path),
        token_embd=token_embd,
        layers=[layer(i) for i in range(config.n_layers)],
        output_norm=get("output_norm.weight"),
        output=token_embd if output is None else output,  # tied: the output reuses the embedding
    )


@functools.lru_cache(maxsize=1)
def cached_weights(path: Path) -> Weights:
    """``load_weights(path)``, read once per process (a few seconds; the last model is kept)."""
    return load_weights(path)

"""Reading a GGUF's weights and hyperparameters, and refusing models the numpy pass cannot run."""

import numpy as np
import pytest
from gguf import GGUFWriter

from utils.local_model import bundled_path
from utils.rlhf import gguf_weights
from utils.rlhf.gguf_weights import UnsupportedModelError, load_weights, read_config


def tiny_gguf(path, arch: str, **metadata):
    """A GGUF holding only metadata (no tensors): enough for ``read_config``."""
    writer = GGUFWriter(path, arch)
    for key, value in metadata.items():
        if isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_uint32(key, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_smollm2_as_read_from_its_metadata():
    weights = load_weights(bundled_path())
    config = weights.config
    assert (config.architecture, config.n_layers, config.n_embd) == ("llama", 30, 576)
    assert (config.n_heads, config.n_kv_heads, config.head_dim, config.n_ff) == (9, 3, 64, 1536)
    assert (config.rope_base, config.rope_layout, config.vocab_size) == (1e5, "neighbours", 49152)
    assert weights.n_parameters == 134_515_008  # SmolLM2-135M, the output tied to the embedding
    assert weights.output is weights.token_embd  # tied: one array, not a copy
    layer = weights.layers[0]
    assert layer.wq.shape == (576, 576) and layer.wk.shape == (192, 576)
    assert layer.w_down.shape == (576, 1536) and layer.bq is None
    assert layer.wq.dtype == np.float32 and layer.attn_norm.dtype == np.float32
    assert type(layer.attn_norm) is np.ndarray  # in memory, not a view of the file


def test_unsupported_architectures_are_refused_by_name(tmp_path):
    path = tiny_gguf(tmp_path / "gemma.gguf", "gemma2")
    with pytest.raises(
        UnsupportedModelError, match="llama and qwen2 models; this GGUF is 'gemma2'"
    ):
        load_weights(path)


def test_stretched_rope_and_split_files_are_refused(tmp_path):
    from gguf import GGUFReader

    yarn = tiny_gguf(tmp_path / "yarn.gguf", "qwen2", **{"qwen2.rope.scaling.type": "yarn"})
    with pytest.raises(UnsupportedModelError, match="plain RoPE only"):
        read_config(GGUFReader(yarn))
    split = tiny_gguf(tmp_path / "split.gguf", "qwen2", **{"split.count": 2})
    with pytest.raises(UnsupportedModelError, match="split into several files"):
        read_config(GGUFReader(split))


def test_small_models_keep_float32_bigger_ones_float16():
    assert gguf_weights.storage_dtype(134_515_008) == np.float32  # SmolLM2-135M: 0.54 GB
    assert gguf_weights.storage_dtype(1_543_714_304) == np.float16  # Qwen2.5-1.5B: 3.1 GB
    half = load_weights(bundled_path(), np.float16)
    assert half.layers[0].wq.dtype == np.float16 and half.output is half.token_embd


def test_a_model_too_big_for_numpy_is_refused(monkeypatch):
    monkeypatch.setattr(gguf_weights, "MAX_BYTES", 100e6)  # pretend memory is short
    with pytest.raises(
        UnsupportedModelError, match=r"0.1B parameters \(0.5 GB in memory\): too large"
    ):
        load_weights(bundled_path())

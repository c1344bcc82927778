"""The served engine file: the bundled Q4_1 weights re-quantised, verified, rebuilt, shared."""

import json
import logging
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

from utils import local_model
from utils.local_server import engine_file


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The bundled model prepared as Q4_0 once, in a folder of this module's own."""
    folder = tmp_path_factory.mktemp("engine")
    return engine_file.prepared(local_model.bundled_path(), "Q4_0", folder)


def test_matrices_become_q4_0_and_the_rest_is_copied(built):
    source, served = GGUFReader(local_model.bundled_path()), GGUFReader(built)
    before = {t.name: t for t in source.tensors}
    assert [t.name for t in served.tensors] == [t.name for t in source.tensors]
    for tensor in served.tensors:
        old = before[tensor.name]
        if old.tensor_type == GGMLQuantizationType.Q4_1:
            assert tensor.tensor_type == GGMLQuantizationType.Q4_0
        else:  # norms and the Q8_0 embedding: byte for byte
            assert tensor.tensor_type == old.tensor_type
            assert np.array_equal(np.asarray(tensor.data), np.asarray(old.data))
    assert served.get_field("general.file_type").contents() == 2  # MOSTLY_Q4_0
    for key in ("tokenizer.chat_template", "tokenizer.ggml.tokens", "llama.block_count"):
        assert served.get_field(key).contents() == source.get_field(key).contents()


def test_the_weights_are_the_same_numbers_within_q4_0_rounding(built):
    old = next(
        t for t in GGUFReader(local_model.bundled_path()).tensors if t.name == "blk.0.ffn_up.weight"
    )
    new = next(t for t in GGUFReader(built).tensors if t.name == old.name)
    a = dequantize(old.data, old.tensor_type).ravel()
    b = dequantize(new.data, new.tensor_type).ravel()
    # Q4_0: 16 levels per block of 32, step = max|w| / 8; rounding is at most half a step off,
    # except at the end opposite the largest value (+8 steps clips to +7): one step
    steps = np.abs(a - b).reshape(-1, 32) / (
        np.abs(a.reshape(-1, 32)).max(axis=1, keepdims=True) / 8
    )
    assert steps.max() <= 1.0 + 1e-3 and steps.mean() < 0.3  # measured: 1.0 and 0.23
    assert np.corrcoef(a, b)[0, 1] > 0.99


def test_a_checksum_is_recorded_beside_it(built):
    record = json.loads(built.with_name(built.name + ".json").read_text())
    assert record["sha256"] == engine_file.sha256(built)
    assert record["bytes"] == built.stat().st_size and record["format"] == "Q4_0"
    assert not list(built.parent.glob("*.partial*"))  # nothing half-written left behind


def test_a_good_file_is_reused_not_rebuilt(built, monkeypatch):
    monkeypatch.setattr(engine_file, "requantise", lambda *a, **k: pytest.fail("rebuilt"))
    assert engine_file.prepared(local_model.bundled_path(), "Q4_0", built.parent) == built


def _small_source(folder: Path) -> Path:
    """A 2-block float32 copy of SmolLM2 re-quantised as Q4_1: quick to convert again."""
    from tests.test_rlhf_forward import float32_variant

    f32 = float32_variant(folder / "f32.gguf", "llama")
    source = folder / "small.gguf"
    engine_file.requantise(f32, source, "Q4_1", convert=("F32",))
    return source


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_a_corrupt_or_missing_file_is_rebuilt(tmp_path):
    source = _small_source(tmp_path)
    path = engine_file.prepared(source, "Q4_0", tmp_path)
    good = path.read_bytes()
    with open(path, "r+b") as handle:  # one flipped byte in the middle
        handle.seek(len(good) // 2)
        handle.write(bytes([good[len(good) // 2] ^ 0xFF]))
    assert not engine_file.is_valid(path, source, "Q4_0")
    assert engine_file.prepared(source, "Q4_0", tmp_path).read_bytes() == good
    path.unlink()
    assert engine_file.prepared(source, "Q4_0", tmp_path).read_bytes() == good
    path.with_name(path.name + ".json").unlink()  # a file without its record is not trusted
    assert not engine_file.is_valid(path, source, "Q4_0")


def test_a_crash_while_writing_leaves_no_file_to_serve(tmp_path, monkeypatch):
    source = _small_source(tmp_path)

    def crash(source, destination, fmt, **options):
        Path(destination).write_bytes(b"GGUF half")
        raise OSError("disk full")

    monkeypatch.setattr(engine_file, "requantise", crash)
    with pytest.raises(OSError, match="disk full"):
        engine_file.prepared(source, "Q4_0", tmp_path)
    assert not engine_file.target_path(source, "Q4_0", tmp_path).exists()
    assert not list(tmp_path.glob("*.partial*"))


def _prepare(args):
    source, folder = args
    return str(engine_file.prepared(Path(source), "Q4_0", Path(folder)))


@pytest.mark.slow  # 18-52 s in `make check` (issue 22): `make test` runs it
def test_two_processes_starting_at_once_build_it_once(tmp_path):
    source = _small_source(tmp_path)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(_prepare, [(str(source), str(tmp_path))] * 2)
    assert len(set(paths)) == 1 and engine_file.is_valid(Path(paths[0]), source, "Q4_0")
    assert not list(tmp_path.glob("*.partial*"))


def test_served_path_falls_back_to_the_shipped_file_with_a_warning(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("COOKBOOK_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(
        engine_file, "requantise", lambda *a, **k: (_ for _ in ()).throw(OSError("read-only"))
    )
    with caplog.at_level(logging.WARNING):
        path = engine_file.served_path(local_model.BUNDLED)
    assert path == local_model.bundled_path()
    assert "serving the shipped file" in caplog.text and "read-only" in caplog.text


def test_format_setting(monkeypatch, tmp_path):
    assert engine_file.chosen_format({}) == engine_file.DEFAULT_FORMAT == "Q8_0"
    assert engine_file.chosen_format({"COOKBOOK_LOCAL_FORMAT": "q8_0"}) == "Q8_0"
    assert engine_file.chosen_format({"COOKBOOK_LOCAL_FORMAT": "Shipped"}) == "shipped"
    with pytest.raises(engine_file.EngineFileError, match="Use one of Q4_0.*unset it"):
        engine_file.chosen_format({"COOKBOOK_LOCAL_FORMAT": "Q4_K_M"})
    monkeypatch.setenv("COOKBOOK_LOCAL_FORMAT", "shipped")
    assert engine_file.served_path(local_model.BUNDLED) == local_model.bundled_path()


def test_a_learners_own_model_is_served_as_it_is(tmp_path):
    mine = tmp_path / "mine.gguf"
    mine.symlink_to(local_model.bundled_path())
    model = local_model.LocalModel(alias="mine", name="mine", context_window=512, path=str(mine))
    assert engine_file.served_path(model) == mine

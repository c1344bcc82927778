"""Where the course's settings come from: the environment, a ``.env`` file, Colab secrets.

``read_config()`` collects every name in ``CONFIG_NAMES`` from the three, the environment
winning over ``.env``, and ``.env`` over Colab secrets. Every setting is read here, the
backend's (``utils.settings``) and the local model's (``utils.local_model.selected``) alike,
so a value in ``.env`` or in Colab's secrets panel counts everywhere an exported one does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# Every setting that chooses the backend or the local model. (Operational ones, such as
# COOKBOOK_STATE_DIR or COOKBOOK_LOCAL_THREADS, are read from the environment where used.)
CONFIG_NAMES = (
    "COOKBOOK_PROVIDER",
    "DASHSCOPE_API_KEY",
    "DASHSCOPE_REGION",
    "DASHSCOPE_BASE_URL",
    "QWEN_MODEL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_MODEL",
    "COOKBOOK_LOCAL_MODEL",
    "QWEN_THINKING_MODEL",
)
SECRET_NAMES = ("DASHSCOPE_API_KEY", "OPENAI_API_KEY")


def _on_colab() -> bool:
    return "google.colab" in sys.modules


def _colab_secrets(names: tuple[str, ...]) -> dict[str, str]:
    """Values from Colab's secrets panel; silently empty where a secret is absent or not shared."""
    if not _on_colab():
        return {}
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return {}
    found = {}
    for name in names:
        try:
            value = userdata.get(name)
        except Exception:  # SecretNotFoundError, NotebookAccessError, ...
            continue
        if value:
            found[name] = value
    return found


def _dotenv_values(path: Path | None) -> tuple[Path | None, dict[str, str]]:
    """The ``.env`` file read (searched upwards from the working directory) and its values."""
    from dotenv import dotenv_values, find_dotenv

    if path is None:
        found = find_dotenv(usecwd=True)  # searches the working directory and its parents
        if not found:
            return None, {}
        path = Path(found)
    if not path.is_file():
        return None, {}
    return path.resolve(), {k: v for k, v in dotenv_values(path).items() if v}


def read_config(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Collect the course's settings and where each came from.

    Precedence: environment > ``.env`` file > Colab secrets. Returns ``(values, sources)``;
    a source names the ``.env`` file it came from, which may be in a parent folder.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    dotenv_file, dotenv = _dotenv_values(dotenv_path)
    layers = (
        ("Colab secrets", _colab_secrets(CONFIG_NAMES)),
        (f".env file {dotenv_file}", dotenv),
        ("environment", {k: environ[k] for k in CONFIG_NAMES if environ.get(k)}),
    )
    for source, layer in layers:  # later layers win
        for name, value in layer.items():
            if name in CONFIG_NAMES and value.strip():
                values[name] = value.strip()
                sources[name] = source
    return values, sources

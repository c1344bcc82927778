"""Where the course's files are: the repository root and its ``data/`` folder."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The course folder (the one holding ``data/`` and ``notebooks/``).

    Found next to this package for a development install, otherwise by looking upwards
    from the working directory (a non-editable install, e.g. on Colab).
    """
    candidates = [Path(__file__).resolve().parent.parent, *Path.cwd().resolve().parents]
    candidates.insert(1, Path.cwd().resolve())
    for folder in candidates:
        if (folder / "data").is_dir() and (folder / "notebooks").is_dir():
            return folder
    raise FileNotFoundError(
        "Could not find the course folder (with data/ and notebooks/). Run the notebook "
        "from inside the course folder, e.g. `cd qwen-max-cookbook/notebooks`."
    )


def data_dir() -> Path:
    """The course's ``data/`` folder."""
    return repo_root() / "data"


def cache_dir() -> Path:
    """Folder for the local server's state and log files (``COOKBOOK_STATE_DIR`` overrides it)."""
    folder = os.environ.get("COOKBOOK_STATE_DIR") or Path.home() / ".cache" / "qwen-max-cookbook"
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def server_log_path() -> Path:
    """Where the shared local model server writes its log."""
    return cache_dir() / "local_server.log"


def shown_path(path: Path | str) -> str:
    """``path`` as a notebook prints it: ``$COOKBOOK_STATE_DIR/...`` or ``~/...``, so an output
    names the place on *your* machine, not the folder of the machine that ran it."""
    path = Path(path)
    state = os.environ.get("COOKBOOK_STATE_DIR")
    for root, shown in ((state, "$COOKBOOK_STATE_DIR"), (str(Path.home()), "~")):
        if root and path.is_relative_to(root):
            return f"{shown}/{path.relative_to(root).as_posix()}"
    return str(path)


def shared_server_port() -> int | None:
    """The port the course's shared local model server was last recorded on, if any."""
    import json

    try:
        return int(json.loads((cache_dir() / "local_server.json").read_text())["port"])
    except (OSError, ValueError, TypeError, KeyError):
        return None

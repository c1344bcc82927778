"""Helpers shared by every notebook of the Qwen2.5-Max cookbook.

Start here::

    from utils import load_settings, get_client, describe_backend
    settings = load_settings()          # DashScope key, another server, or the local model
    client = get_client(settings)       # a plain openai.OpenAI client
    print(describe_backend(settings))   # which backend, and why (never the key)

Importing ``utils`` inside Jupyter also adds a "What to do" note to API error tracebacks
(see ``utils.errors``).

The names above load on first use, so a process that needs only one helper (the local model
server, the room, a command line) does not import openai and pandas with them: that took 2-4 s
of every server start.
"""

from __future__ import annotations

import importlib
import sys

_HOMES = {
    "describe_backend": "utils.clients",
    "get_async_client": "utils.clients",
    "get_client": "utils.clients",
    "explain": "utils.errors",
    "install_notebook_hints": "utils.errors",
    "ConfigError": "utils.settings",
    "Settings": "utils.settings",
    "load_settings": "utils.settings",
}

__all__ = sorted(name for name in _HOMES if name != "install_notebook_hints")


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


if "IPython" in sys.modules:  # a notebook kernel or an IPython shell: add the advice now
    importlib.import_module("utils.errors").install_notebook_hints()

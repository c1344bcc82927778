"""Helpers shared by every notebook of the Qwen2.5-Max cookbook.

Start here::

    from utils import load_settings, get_client, describe_backend
    settings = load_settings()          # DashScope key, another server, or the local model
    client = get_client(settings)       # a plain openai.OpenAI client
    print(describe_backend(settings))   # which backend, and why (never the key)

Importing ``utils`` inside Jupyter also adds a "What to do" note to API error tracebacks
(see ``utils.errors``).
"""

from utils.clients import describe_backend, get_async_client, get_client
from utils.errors import explain, install_notebook_hints
from utils.settings import ConfigError, Settings, load_settings

__all__ = [
    "ConfigError",
    "Settings",
    "describe_backend",
    "explain",
    "get_async_client",
    "get_client",
    "load_settings",
]

install_notebook_hints()

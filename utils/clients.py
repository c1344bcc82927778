"""OpenAI SDK clients for whichever backend ``load_settings()`` resolved."""

from __future__ import annotations

import openai

from utils.local_model import display_name
from utils.settings import Settings, load_settings

MAX_RETRIES = 3  # the SDK retries 408/409/429/5xx and connection errors with back-off
TIMEOUT = openai.Timeout(300.0, connect=5.0)  # long answers on a busy CPU; fail fast when unreachable


def get_client(settings: Settings | None = None, **options) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for the course's backend (``options`` go to the SDK)."""
    settings = settings or load_settings()
    return openai.OpenAI(**_client_kwargs(settings, options))


def get_async_client(settings: Settings | None = None, **options) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` client; use it from one event loop (``await`` in the cell)."""
    settings = settings or load_settings()
    return openai.AsyncOpenAI(**_client_kwargs(settings, options))


def _client_kwargs(settings: Settings, options: dict) -> dict:
    if settings.base_url is None:
        raise ValueError("These settings have no base_url yet; get them from load_settings().")
    return {
        "api_key": settings.api_key.reveal(),
        "base_url": settings.base_url,
        "max_retries": MAX_RETRIES,
        "timeout": TIMEOUT,
        **options,
    }


def describe_backend(settings: Settings | None = None) -> str:
    """One line saying which model and endpoint are in use, and why (never the key)."""
    settings = settings or load_settings()
    if settings.provider == "local":
        return (
            f"Using local {display_name(settings.model)} at {settings.base_url} (offline; {settings.reason}). "
            "Set DASHSCOPE_API_KEY to use Qwen2.5-Max."
        )
    if settings.provider == "dashscope":
        return f"Using {settings.model} on DashScope at {settings.base_url} ({settings.reason})."
    return (
        f"Using {settings.model} on the OpenAI-compatible server at {settings.base_url} "
        f"({settings.reason})."
    )


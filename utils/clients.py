"""OpenAI SDK clients for whichever backend ``load_settings()`` resolved."""

from __future__ import annotations

import openai

from utils.local_model import display_name
from utils.model_table import rate_limits
from utils.request_pacing import clock_speed, minute_seconds, paced_http_client, spacing_for
from utils.settings import Settings, load_settings

# Model Studio's name for the output cap. Its notice "Changes to Certain Model Fields" (dated
# 2026-04-12, effective 2026-04-20) renames the Chat Completions field ``max_tokens`` to
# ``max_completion_tokens`` and keeps ``max_tokens`` only for a transition (deprecated before
# 2026-05-30): https://www.alibabacloud.com/en/notice/model_studio_notice_of_changes_to_certain_model_fields_724
OUTPUT_CAP = "max_completion_tokens"
MAX_RETRIES = 3  # the SDK retries 408/409/429/5xx and connection errors with back-off
TIMEOUT = openai.Timeout(
    300.0, connect=5.0
)  # long answers on a busy CPU; fail fast when unreachable


def get_client(settings: Settings | None = None, **options) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for the course's backend (``options`` go to the SDK).

    To DashScope its requests are spaced to the model's published requests per minute
    (``utils.request_pacing``); a client given another ``base_url=`` (a loopback server, say)
    is not paced. Pass your own ``http_client=`` to send unpaced.
    """
    settings = settings or load_settings()
    kind = DashScopeClient if settings.provider == "dashscope" else openai.OpenAI
    return kind(**_client_kwargs(settings, options, asynchronous=False))


def get_async_client(settings: Settings | None = None, **options) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` client; use it from one event loop (``await`` in the cell)."""
    settings = settings or load_settings()
    kind = AsyncDashScopeClient if settings.provider == "dashscope" else openai.AsyncOpenAI
    return kind(**_client_kwargs(settings, options, asynchronous=True))


def with_output_cap(body: dict) -> dict:
    """``body`` with the old ``max_tokens`` renamed to ``max_completion_tokens`` (``OUTPUT_CAP``).

    Code written for other servers says ``max_tokens``; Model Studio now names the cap
    ``max_completion_tokens``. Both given with different values is a mistake: refused.
    """
    if "max_tokens" not in body:
        return body
    body = dict(body)
    old = body.pop("max_tokens")
    if body.get(OUTPUT_CAP, old) != old:
        raise ValueError(
            f"max_tokens={old} and {OUTPUT_CAP}={body[OUTPUT_CAP]} disagree: send only "
            f"{OUTPUT_CAP}, the name Model Studio uses."
        )
    if old is not None:
        body[OUTPUT_CAP] = old
    return body


def _renamed(options):
    if isinstance(options.json_data, dict) and options.url.endswith("/chat/completions"):
        options.json_data = with_output_cap(options.json_data)
    return options


class DashScopeClient(openai.OpenAI):
    """``openai.OpenAI`` that sends the output cap under Model Studio's current name."""

    def _prepare_options(self, options):
        return _renamed(super()._prepare_options(options))


class AsyncDashScopeClient(openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` that sends the output cap under Model Studio's current name."""

    async def _prepare_options(self, options):
        return _renamed(await super()._prepare_options(options))


def paced_requests_per_minute(settings: Settings, base_url: str | None = None) -> int | None:
    """The requests per minute a course client sending to ``base_url`` (default: the settings'
    own) keeps to: DashScope's published limit for the model (``data/models.csv``) when that is
    the configured DashScope endpoint; None (not paced) for any other URL (a loopback server
    such as 05's Batch stand-in, another backend) and for models not in the table."""
    url = str(base_url or settings.base_url or "").rstrip("/")
    if settings.provider != "dashscope" or url != str(settings.base_url or "").rstrip("/"):
        return None
    return rate_limits(settings.model)[0]


def _client_kwargs(settings: Settings, options: dict, asynchronous: bool) -> dict:
    if settings.base_url is None:
        raise ValueError("These settings have no base_url yet; get them from load_settings().")
    kwargs = {
        "api_key": settings.api_key.reveal(),
        "base_url": settings.base_url,
        "max_retries": MAX_RETRIES,
        "timeout": TIMEOUT,
    }
    url = str(options.get("base_url") or settings.base_url)  # where this client really sends
    rpm = paced_requests_per_minute(settings, url)
    if rpm and "http_client" not in options:
        spacing = spacing_for(url, settings.model, rpm)
        kwargs["http_client"] = paced_http_client(spacing, asynchronous)
    return {**kwargs, **options}


def describe_backend(settings: Settings | None = None) -> str:
    """One line saying which model and endpoint are in use, and why (never the key)."""
    settings = settings or load_settings()
    if settings.provider == "local":
        return (
            f"Using local {display_name(settings.model)} at {settings.base_url} (offline; {settings.reason}). "
            "Set DASHSCOPE_API_KEY to use Qwen2.5-Max."
        )
    if settings.provider == "dashscope":
        rpm = paced_requests_per_minute(settings)
        paced = f"; requests spaced to its published {rpm} a minute" if rpm else ""
        if rpm and clock_speed() != 1:  # the test suite's fast clock (utils.request_pacing)
            paced += f" (test clock ×{clock_speed():g}: a minute is {minute_seconds():g} s)"
        return f"Using {settings.model} on DashScope at {settings.base_url} ({settings.reason}{paced})."
    return (
        f"Using {settings.model} on the OpenAI-compatible server at {settings.base_url} "
        f"({settings.reason})."
    )

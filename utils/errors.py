"""Turn the API errors a learner will hit into one actionable paragraph.

``explain(error)`` returns advice for an ``openai.APIError``, or a ``ConfigError`` caused by
one (or ``None`` for anything else). It never raises: it runs inside the error path, where a
crash of its own would replace the learner's error, so a part it cannot work out is left out.
Inside Jupyter, importing ``utils`` calls ``install_notebook_hints()``, which adds that advice
as a note at the end of the traceback; nothing is hidden or swallowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import openai

from utils.local_model import MAX_CONTEXT
from utils.optional_features import describe_refusal, refused_feature, request_json
from utils.paths import server_log_path, shared_server_port, shown_path
from utils.served_models import available_models
from utils.settings import (
    DASHSCOPE_BASE_URLS,
    ConfigError,
    Settings,
    read_config,
    resolve_settings,
)

_API_SUFFIXES = ("/chat/completions", "/completions", "/embeddings", "/models")


def _base_url(error: openai.APIError) -> str:
    try:
        url = str(error.request.url).split("?")[0]
    except Exception:  # noqa: BLE001 — an error built without a request
        return "the server"
    for suffix in _API_SUFFIXES:
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def _requested_model(error: openai.APIError) -> str | None:
    """The model a JSON request asked for; None for an upload, a stream or no body."""
    try:
        model = request_json(error.request).get("model")
    except Exception:  # noqa: BLE001 — no request at all
        return None
    return model if isinstance(model, str) else None


def _server_message(error: openai.APIError) -> str:
    body = error.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or error.message)
    return str(error.message)


def _region(base_url: str) -> str | None:
    for region, url in DASHSCOPE_BASE_URLS.items():
        if base_url.startswith(url.split("/compatible-mode")[0]):
            return region
    return None


def _is_loopback(base_url: str) -> bool:
    return "://127.0.0.1" in base_url or "://localhost" in base_url


def _configured_for(base_url: str) -> Settings | None:
    """The course's settings if they point at ``base_url`` (resolved only: nothing starts)."""
    try:
        settings = resolve_settings(*read_config())
    except Exception:  # advice must never raise
        return None
    return settings if settings.base_url == base_url else None


def _reason(error: openai.APIError) -> str:
    """Why a request failed, in a few words: the status and the server's message, or no answer."""
    if isinstance(error, openai.APIStatusError):
        return f"{error.status_code}: {_server_message(error)}"
    return f"{type(error).__name__}: {error}"


def _models_hint(base_url: str) -> str:
    settings = _configured_for(base_url)
    key = settings.api_key.reveal() if settings is not None else ""
    try:
        models = available_models(base_url, key)
    except openai.APIError as error:
        path = (
            "; check that the base URL ends in /v1"
            if isinstance(error, openai.NotFoundError)
            else ""
        )
        return f"{base_url} did not list its models ({_reason(error)}){path}."
    if models:
        shown = ", ".join(models[:15]) + (" …" if len(models) > 15 else "")
        return f"{base_url} serves: {shown}."
    return f"{base_url} lists no models; check that the base URL ends in /v1."


def explain(error: BaseException) -> str | None:
    """Advice for an ``openai.APIError``, or for a ``ConfigError`` that one caused (a model list
    that failed, say): what went wrong and what to do; None otherwise. Never raises."""
    try:
        return _explain(error)
    except Exception:  # noqa: BLE001 — advice must never replace the learner's error
        pass
    try:
        status = getattr(error, "status_code", None)
        return f"What to do: read the error above ({type(error).__name__}, status {status})."
    except Exception:  # noqa: BLE001
        return None


def _explain(error: BaseException) -> str | None:
    if isinstance(error, ConfigError) and isinstance(error.__cause__, openai.APIError):
        error = error.__cause__
    if not isinstance(error, openai.APIError):
        return None
    base = _base_url(error)
    region = _region(base)
    local = _is_loopback(base)

    if isinstance(error, openai.APITimeoutError):
        return (
            f"What to do: {base} did not answer in time (the SDK retried). A long answer on a "
            "CPU can take a while: lower max_completion_tokens, or pass timeout=... to the call."
        )
    if isinstance(error, openai.APIConnectionError):
        shared = shared_server_port()
        if local and shared is not None and urlsplit(base).port != shared:
            return (
                f"What to do: nothing is answering at {base}. That is not the course's shared "
                f"local model (port {shared}) but another server on this machine, which has "
                "stopped: start that one again the way it was started (a killed "
                "`local_server.temporary_server()` is gone: open a new one)."
            )
        if local:
            return (
                f"What to do: nothing is answering at {base}. Start the local model with "
                "`python -m utils.local_server start` in a terminal, or re-run the notebook's "
                f"set-up cell, which starts it. Its log is {shown_path(server_log_path())}."
            )
        return (
            f"What to do: could not connect to {base}. Check the base URL "
            "(DASHSCOPE_REGION / DASHSCOPE_BASE_URL / OPENAI_BASE_URL) and your network. "
            "Offline? Unset DASHSCOPE_API_KEY and OPENAI_BASE_URL to use the local model."
        )
    if not isinstance(error, openai.APIStatusError):
        return None

    status = error.status_code
    message = _server_message(error)
    feature = refused_feature(error)
    if feature is not None and status not in (401, 403, 429):
        return f"What to do: {describe_refusal(error, feature)}"
    if status == 401:
        if region:
            other = "cn" if region == "intl" else "intl"
            return (
                f"What to do: DashScope ({region}) rejected the key: {message!r}. Check "
                "DASHSCOPE_API_KEY (copy it again, no quotes or spaces). Keys are regional: "
                "a key from the international (Singapore) console works only with "
                "DASHSCOPE_REGION=intl, one from the China (Beijing) console only with "
                f"DASHSCOPE_REGION=cn. Try DASHSCOPE_REGION={other} if that is where you made it."
            )
        return f"What to do: {base} rejected the key: {message!r}. Check OPENAI_API_KEY."
    if status == 403:
        return (
            f"What to do: the key works but may not use this model or endpoint: {message!r}. "
            "Check in the console that the model is activated and your quota or free tier "
            "covers it."
        )
    if status == 404:
        model = _requested_model(error)
        asked = f"Model {model!r} was not found. " if model else "Not found. "
        settings = _configured_for(base)
        dashscope = region or (settings is not None and settings.provider == "dashscope")
        variable = "QWEN_MODEL" if dashscope else "OPENAI_MODEL"
        return f"What to do: {asked}{_models_hint(base)} Set {variable} to one of them."
    if status == 429:
        return (
            f"What to do: {base} is rate-limiting you ({message!r}); the SDK already retried "
            "with back-off. Wait a minute, send fewer requests at once (lower concurrency), "
            "or check your quota and billing in the console."
        )
    if status >= 500:
        where = f" Its log is {shown_path(server_log_path())}." if local else ""
        return (
            f"What to do: {base} had a server error ({status}: {message!r}) even after the "
            f"SDK's retries. Try again shortly; it is not your code.{where}"
        )
    if status == 400 and ("context" in message.lower() or "exceed" in message.lower()):
        window = f" The local model's window is {MAX_CONTEXT} tokens." if local else ""
        return (
            f"What to do: the prompt plus max_completion_tokens is longer than the model's context window "
            f"({message!r}). Shorten the conversation or lower max_completion_tokens.{window}"
        )
    return (
        f"What to do: {base} refused the request ({status}: {message!r}). Check the parameter "
        "names and values you passed."
    )


def install_notebook_hints() -> bool:
    """Inside IPython, append ``explain()``'s advice to API error tracebacks; True if installed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def show_with_advice(shell, etype, value, tb, tb_offset=None):
        advice = explain(value)
        if advice and advice not in getattr(value, "__notes__", []):
            value.add_note(advice)
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((openai.APIError, ConfigError), show_with_advice)
    return True

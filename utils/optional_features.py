"""API features an endpoint may not offer: tell its refusal from a real error, and say so in a line.

The Batch API (``/files``, ``/batches``), the model list (``GET /models``), Qwen's partial mode
and Model Studio's explicit context cache are offered by some OpenAI-compatible endpoints and
not others. ``refused_feature(error)`` names the feature an error shows the endpoint lacks (a
404, 405 or 501 on its route, or a 400 whose message names it); ``describe_refusal`` turns that
into one line; ``optional_feature(name)`` is a ``with`` block that prints the line and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import openai

REFUSAL_STATUSES = (404, 405, 501)  # "no such route", "not this method", "not implemented"
BATCH_PAGE = (
    "https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai"
)
CACHE_PAGE = "https://www.alibabacloud.com/help/en/model-studio/context-cache"
PARTIAL_PAGE = "https://www.alibabacloud.com/help/en/model-studio/partial-mode"


@dataclass(frozen=True)
class Feature:
    """An optional feature: what it is, who offers it, and where the course shows it offline."""

    name: str
    words: tuple[str, ...]  # a 400 whose message names one of these is about the feature
    offered_by: str
    offline: str


FEATURES = {
    "batch": Feature(
        "the Batch API (/files and /batches)",
        ("batch", "/files", "file upload", "purpose"),
        f"Model Studio's compatible-mode endpoint for the regions and models on {BATCH_PAGE}, "
        "and OpenAI's API",
        "with no key, notebook 05 shows the whole round trip on a loopback Batch API "
        "(utils.loopback.batch.LocalBatchAPI)",
    ),
    "models": Feature(
        "the model list (GET /models)",
        ("/models",),
        "Model Studio, OpenAI, vLLM, Ollama and llama.cpp's server",
        "check that the base URL ends in /v1, or name the model yourself (QWEN_MODEL or "
        "OPENAI_MODEL)",
    ),
    "partial": Feature(
        "partial mode (an assistant message with partial=True)",
        ("partial",),
        f"Model Studio for Qwen models ({PARTIAL_PAGE})",
        "notebook 02 shows the request; resume by sending the text so far in a new prompt",
    ),
    "context_cache": Feature(
        "the explicit context cache (cache_control in a message)",
        ("cache_control", "cache"),
        f"Model Studio for the models listed on {CACHE_PAGE}",
        "the implicit cache needs nothing in the request: leave cache_control out",
    ),
}


def request_json(request) -> dict:
    """The JSON body of an ``httpx`` request, or {} when it has none or cannot be read back
    (a streamed or multipart upload, say). Never raises."""
    try:
        body = request.content  # raises for a streamed body that was never read
        parsed = json.loads(body or b"{}")
    except Exception:  # noqa: BLE001 — any unreadable body means "no JSON here"
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _path(request) -> str:
    try:
        return str(request.url.path)
    except Exception:  # noqa: BLE001
        return ""


def _uses(name: str, request) -> bool:
    """Whether ``request`` used feature ``name``: by its route, or by what its body asks for."""
    path = _path(request)
    if name == "batch":
        return "/files" in path or "/batches" in path
    if name == "models":
        return path.endswith("/models") or "/models/" in path
    messages = request_json(request).get("messages")
    if not isinstance(messages, list):
        return False
    if name == "partial":
        return any(isinstance(m, dict) and m.get("partial") for m in messages)
    return "cache_control" in json.dumps(messages, default=str)


def _message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or error.message)
    return str(error.message)


def refused_feature(error: BaseException) -> str | None:
    """The key in ``FEATURES`` of the optional feature ``error`` says the endpoint does not
    offer, or None (another error, or a feature it offers but refused for another reason)."""
    try:
        if not isinstance(error, openai.APIStatusError):
            return None
        message = _message(error).lower()
        for name, feature in FEATURES.items():
            if not _uses(name, error.request):
                continue
            if error.status_code in REFUSAL_STATUSES:
                return name
            if error.status_code == 400 and any(word in message for word in feature.words):
                return name
    except Exception:  # noqa: BLE001 — a classifier inside an error path must not raise
        return None
    return None


def describe_refusal(error: BaseException, name: str | None = None) -> str:
    """One line: which feature was refused, who offers it, and what the course does instead."""
    name = name or refused_feature(error) or ""
    feature = FEATURES.get(name)
    status = getattr(error, "status_code", None)
    try:
        where = str(error.request.url).split("?")[0]
    except Exception:  # noqa: BLE001
        where = "the endpoint"
    if feature is None:
        return f"{where} refused the request ({status}): {type(error).__name__}."
    return (
        f"This endpoint does not offer {feature.name}: {where} answered {status}. "
        f"It is offered by {feature.offered_by}; {feature.offline}."
    )


class optional_feature:  # noqa: N801 — used like a function: ``with optional_feature("batch"):``
    """A ``with`` block for an optional feature: if the endpoint refuses it, print one line
    (``describe_refusal``), keep it in ``.refused`` and go on; any other error is raised."""

    def __init__(self, name: str, quiet: bool = False) -> None:
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r}; choose one of {sorted(FEATURES)}")
        self.name, self.quiet = name, quiet
        self.refused: str | None = None

    def __enter__(self) -> optional_feature:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or refused_feature(error) != self.name:
            return False
        self.refused = describe_refusal(error, self.name)
        if not self.quiet:
            print(self.refused)
        return True

    @property
    def ok(self) -> bool:
        """True unless the endpoint refused the feature."""
        return self.refused is None

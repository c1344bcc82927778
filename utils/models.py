"""check-models: what the endpoint serves, and is the configured model fine (not gone, not legacy)?

    python -m utils.models

The facts it judges by (limits, status, what to use instead) are the model table,
``utils.model_table``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import openai
import pandas as pd

from utils.clients import get_client
from utils.errors import explain
from utils.model_table import load_models, model_info
from utils.served_models import listed_models
from utils.settings import DEFAULT_QWEN_MODEL, ConfigError, Settings, load_settings

REFERENCE_MODEL = DEFAULT_QWEN_MODEL  # the model recordings and lessons compare against
MODEL_VARIABLE = {  # which setting picks the model, per provider
    "dashscope": "QWEN_MODEL",
    "openai-compatible": "OPENAI_MODEL",
    "local": "COOKBOOK_LOCAL_MODEL",
}


@dataclass(frozen=True)
class ModelCheck:
    """The verdict on one model id: ``level`` is "ok", "warning" or "error"."""

    model: str | None
    level: str
    detail: str
    advice: str = ""
    listed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.level != "error"


def _suggest(info: Mapping[str, Any] | None, listed: list[str] | None) -> str:
    """What to use instead: the registry's successor if served, else a served Qwen-Max id."""
    successor = (info or {}).get("use_instead")
    if successor and (listed is None or successor in listed):
        return successor
    if listed:
        known = [m for m in load_models().index if m in listed]
        return (known or listed)[0]
    return ""


def check_model(
    model: str | None, listed: list[str] | None, provider: str = "dashscope"
) -> ModelCheck:
    """Judge ``model`` against the endpoint's list (``None``: it could not be listed) and the table."""
    variable = MODEL_VARIABLE.get(provider, "the model setting")
    info = model_info(model)
    shown = listed or []
    if model is None:
        return ModelCheck(model, "error", "no model is configured", f"Set {variable}.", shown)
    if listed is not None and model not in listed:
        instead = _suggest(info, listed)
        advice = (
            f"Set {variable}={instead}." if instead else f"Set {variable} to a model it serves."
        )
        return ModelCheck(model, "error", f"{model} is not served by this endpoint", advice, shown)
    if info is None:
        return ModelCheck(
            model, "warning", f"{model} is not in data/models.csv: its limits and price are unknown here",
            "Add a row with its source if you rely on it.", shown,
        )  # fmt: skip
    unlisted = " (the endpoint did not list its models)" if listed is None else ""
    if info["status"] == "legacy":
        instead = _suggest(info, listed)
        advice = (
            f"It still answers; for new work set {variable}={instead}." if instead else
            "It still answers; check the provider's model list for its successor."
        )  # fmt: skip
        return ModelCheck(model, "warning", f"{model} is legacy{unlisted}", advice, shown)
    return ModelCheck(model, "ok", f"{model} is {info['status']}{unlisted}", "", shown)


def endpoint_models(settings: Settings) -> list[str]:
    """Ids the endpoint lists through the SDK's ``client.models.list()`` (errors are raised)."""
    client = get_client(settings, max_retries=1, timeout=15.0)
    try:
        return listed_models(client)
    finally:
        client.close()


def check_configured(settings: Settings | None = None) -> ModelCheck:
    """List the configured endpoint's models and judge the configured model against them."""
    settings = settings or load_settings()
    try:
        listed: list[str] | None = endpoint_models(settings)
    except openai.APIError as error:
        if isinstance(error, openai.AuthenticationError | openai.APIConnectionError):
            return ModelCheck(
                settings.model, "error", "could not list models", explain(error) or str(error)
            )
        listed = None  # some servers do not offer GET /models: judge by the table alone
    return check_model(settings.model, listed, settings.provider)


def registry_table() -> pd.DataFrame:
    """The table as a learner reads it: limits, price, status and what to use instead."""
    table = load_models()
    columns = {
        "context_window": "context", "max_output": "max output", "rpm": "RPM", "tpm": "TPM",
        "input_usd_per_million_tokens": "$ in /M", "output_usd_per_million_tokens": "$ out /M",
        "status": "status", "use_instead": "use instead", "checked": "checked",
    }  # fmt: skip
    shown = table[list(columns)].rename(columns=columns).astype(object)
    for name in ("context", "max output", "RPM", "TPM"):
        shown[name] = shown[name].map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
    return shown.where(shown.notna(), "")


def main(argv: list[str] | None = None) -> int:
    """check-models: print the endpoint's models, the verdict on ours, and the table."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    check = check_configured(settings)
    print(f"Endpoint {settings.base_url} ({settings.provider})")
    if check.listed:
        shown = ", ".join(check.listed[:20]) + (" …" if len(check.listed) > 20 else "")
        print(f"serves {len(check.listed)} model(s): {shown}")
    mark = {"ok": "✅", "warning": "⚠️ ", "error": "❌"}[check.level]
    print(f"{mark} {check.detail}")
    if check.advice:
        print(f"   → {check.advice}")
    print("\nKnown models (data/models.csv; blank = not checked):")
    print(registry_table().to_string())
    return 0 if check.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

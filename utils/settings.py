"""Which model endpoint the course talks to, and with which key.

Resolution order (first match wins):

1. ``DASHSCOPE_API_KEY`` → Qwen2.5-Max on Alibaba Cloud Model Studio (DashScope).
2. ``OPENAI_BASE_URL`` → any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp).
3. Nothing set → the bundled local model (see ``utils.local_server``).

Values come from the environment, then a ``.env`` file, then Colab secrets (on Colab):
``utils.config_sources.read_config``.
``COOKBOOK_PROVIDER`` forces one of the three, e.g. ``local`` to stay offline with a key set.
``QWEN_THINKING_MODEL`` picks the thinking model (lesson 12); on DashScope the default is the
thinking table's (``data/thinking_models.csv``), elsewhere there is none unless you set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import openai

from utils import local_model
from utils.config_sources import (  # noqa: F401 (re-exported: where settings come from)
    CONFIG_NAMES,
    SECRET_NAMES,
    read_config,
)
from utils.served_models import available_models
from utils.thinking import default_thinking_model, thinking_facts

DASHSCOPE_BASE_URLS = {
    "intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",  # Singapore console keys
    "cn": "https://dashscope.aliyuncs.com/compatible-mode/v1",  # Beijing console keys
}
# Model Studio's "Base URL overview" (https://www.alibabacloud.com/help/model-studio/base-url,
# Last Updated 2026-10-11) calls the dashscope domains above the "legacy shared domain", still
# available, and recommends a workspace-dedicated one, [workspace-id].[region].maas.aliyuncs.com
# (Singapore is ap-southeast-1 on its "OpenAI compatible - Chat" page); set that in
# DASHSCOPE_BASE_URL, e.g. https://{WorkspaceId}.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1.
WORKSPACE_DOMAIN = ".maas.aliyuncs.com"
WORKSPACE_REGIONS = {"ap-southeast-1": "intl"}  # the workspace regions the course's keys use
DEFAULT_QWEN_MODEL = "qwen-max-2025-01-25"
PROVIDERS = ("dashscope", "openai-compatible", "local")


def endpoint_kind(base_url: str) -> str | None:
    """Which kind of Model Studio domain ``base_url`` is: "legacy shared", "workspace",
    "trial", or None for any other server."""
    host = urlsplit(str(base_url)).hostname or ""
    if host in {urlsplit(url).hostname for url in DASHSCOPE_BASE_URLS.values()}:
        return "legacy shared"
    labels = host.removesuffix(WORKSPACE_DOMAIN).split(".")
    if not host.endswith(WORKSPACE_DOMAIN) or len(labels) != 2 or not all(labels):
        return None
    return "trial" if labels[0] == "trial" else "workspace"


def endpoint_region(base_url: str) -> str | None:
    """'intl' or 'cn' for Model Studio's own endpoints whose region the course knows; else None."""
    host = urlsplit(str(base_url)).hostname or ""
    for region, url in DASHSCOPE_BASE_URLS.items():
        if host == urlsplit(url).hostname:
            return region
    if endpoint_kind(base_url) in ("workspace", "trial"):
        return WORKSPACE_REGIONS.get(host.split(".")[1])
    return None


class ConfigError(ValueError):
    """A setting has a value the course cannot use; the message says how to fix it."""


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or f-strings."""

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the real value (only for handing to the SDK)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __str__(self) -> str:
        return f"<hidden, {len(self._value)} characters>" if self._value else "<not set>"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Settings:
    """The resolved backend: where requests go, which model, which key, and why."""

    provider: str  # one of PROVIDERS
    base_url: str | None  # None only for "local" before the server is started
    model: str | None  # None only for "openai-compatible" without OPENAI_MODEL
    api_key: Secret
    reason: str  # one sentence a learner can read: why this backend was chosen
    thinking_model: str | None = None  # the model lesson 12 asks to think; None: none reachable

    @property
    def is_local(self) -> bool:
        return self.provider == "local"


def _thinking_model(values: Mapping[str, str]) -> str | None:
    """``QWEN_THINKING_MODEL`` if set, refused if the thinking table says it cannot think."""
    model = values.get("QWEN_THINKING_MODEL")
    facts = thinking_facts(model)
    if facts is not None and not facts.can_think:
        raise ConfigError(
            f"QWEN_THINKING_MODEL={model!r} cannot think (data/thinking_models.csv). Unset it "
            f"to use {default_thinking_model()}, or name a model that thinks."
        )
    return model


def resolve_settings(
    values: Mapping[str, str], sources: Mapping[str, str] | None = None
) -> Settings:
    """Pick the backend from already-collected values (pure: no I/O, no server start)."""
    sources = sources or {}

    def where(name: str) -> str:
        return f"{name} from {sources.get(name, 'the environment')}"

    forced = values.get("COOKBOOK_PROVIDER", "").lower()
    if forced and forced not in PROVIDERS:
        raise ConfigError(
            f"COOKBOOK_PROVIDER={forced!r} is not one of {', '.join(PROVIDERS)}. "
            "Unset it to let the course choose, or pick one of those."
        )

    dash_key = values.get("DASHSCOPE_API_KEY", "")
    base_url = values.get("OPENAI_BASE_URL", "")

    if forced == "dashscope" or (not forced and dash_key):
        if not dash_key:
            raise ConfigError(
                "COOKBOOK_PROVIDER=dashscope but DASHSCOPE_API_KEY is not set. Add it to "
                "your environment or .env (see .env.example)."
            )
        region = values.get("DASHSCOPE_REGION", "intl").lower()
        if region not in DASHSCOPE_BASE_URLS:
            raise ConfigError(
                f"DASHSCOPE_REGION={region!r} is not 'intl' or 'cn'. Use 'intl' for keys from "
                "the international (Singapore) console, 'cn' for keys from the China (Beijing) "
                "console."
            )
        url = values.get("DASHSCOPE_BASE_URL") or DASHSCOPE_BASE_URLS[region]
        if not url.startswith(("http://", "https://")) or "{" in url:
            raise ConfigError(
                f"DASHSCOPE_BASE_URL={url!r} is not a URL. Paste the base URL your Model Studio "
                "workspace shows, e.g. https://<your workspace id>.ap-southeast-1.maas.aliyuncs.com"
                "/compatible-mode/v1, or unset it to use the shared domain of DASHSCOPE_REGION."
            )
        reason = f"{where('DASHSCOPE_API_KEY')}"
        kind = endpoint_kind(url)
        reason += (
            f", endpoint {where('DASHSCOPE_BASE_URL')}" + (f" (a {kind} domain)" if kind else "")
            if values.get("DASHSCOPE_BASE_URL")
            else f", region {region!r}"
        )
        if base_url and not forced:
            reason += " (OPENAI_BASE_URL is also set; DASHSCOPE_API_KEY takes precedence)"
        return Settings(
            provider="dashscope",
            base_url=url.rstrip("/"),
            model=values.get("QWEN_MODEL", DEFAULT_QWEN_MODEL),
            api_key=Secret(dash_key),
            reason=reason,
            thinking_model=_thinking_model(values) or default_thinking_model(),
        )

    if forced == "openai-compatible" or (not forced and base_url):
        if not base_url:
            raise ConfigError(
                "COOKBOOK_PROVIDER=openai-compatible but OPENAI_BASE_URL is not set, e.g. "
                "OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama."
            )
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"OPENAI_BASE_URL={base_url!r} must start with http:// or https:// "
                "(for example http://localhost:8000/v1)."
            )
        return Settings(
            provider="openai-compatible",
            base_url=base_url.rstrip("/"),
            model=values.get("OPENAI_MODEL"),
            # Many local servers accept any key; the SDK insists on a non-empty one.
            api_key=Secret(values.get("OPENAI_API_KEY", "not-needed")),
            reason=where("OPENAI_BASE_URL"),
            thinking_model=_thinking_model(values),
        )

    reason = (
        "COOKBOOK_PROVIDER=local"
        if forced == "local"
        else "no DASHSCOPE_API_KEY or OPENAI_BASE_URL is set"
    )
    try:
        alias = local_model.selected(values).alias
    except local_model.LocalModelError as error:
        raise ConfigError(str(error)) from None
    return Settings(
        provider="local",
        base_url=None,
        model=alias,
        api_key=Secret("local"),  # the local server checks no key
        reason=reason,
    )


def load_settings() -> Settings:
    """Resolve the backend from environment, ``.env`` and Colab secrets, ready to use.

    For the local backend this starts the bundled server (or reuses a running one), so
    ``base_url`` is real. For an OpenAI-compatible server without ``OPENAI_MODEL`` it asks
    the server which models it serves and uses the only one, or says which to choose.
    """
    values, sources = read_config()
    settings = resolve_settings(values, sources)
    if settings.provider == "local":
        from utils import local_server  # only here: resolving settings never starts anything

        url = local_server.ensure_running(local_model.selected(values))
        return replace(settings, base_url=url)
    if settings.model is None:
        try:
            models = available_models(settings.base_url, settings.api_key.reveal())
        except openai.APIError as error:  # utils.errors.explain(error) says what to do
            raise ConfigError(
                f"Set OPENAI_MODEL: {settings.base_url} did not list its models "
                f"({type(error).__name__}: {error})."
            ) from error
        if len(models) != 1:
            listed = ", ".join(models) if models else "no models"
            raise ConfigError(f"Set OPENAI_MODEL: {settings.base_url} serves {listed}.")
        return replace(settings, model=models[0])
    return settings


def world_readable_dotenv(start: Path | None = None) -> Path | None:
    """The ``.env`` that settings would load (``start`` or the working folder, or a parent),
    if every user on the machine may read it; else None."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / ".env"
        if path.is_file():
            reachable = all(p.stat().st_mode & 0o001 for p in path.parents)  # others may enter
            return path if reachable and path.stat().st_mode & 0o004 else None
    return None

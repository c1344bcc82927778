"""Recorded answers: a real backend's response to a request, stored with where it came from.

A recording is one JSON file, ``data/recorded/<model>/<key>.json``. The key is the SHA-256 of
the request (model, messages and every parameter, as canonical JSON; ``stream`` aside), so
the same request finds the same file. Beside the request and response it keeps the
provenance: model id, endpoint host, region, date and the ``openai`` SDK version.

A lesson can show Qwen2.5-Max's recorded answer beside the live local one; where nothing was
recorded it says so. Nothing here ever makes an answer up. Only answers from Model Studio's
own endpoints may be saved into ``data/recorded/`` (``make record`` with a DashScope key);
anything else (a test's stand-in, a local server) records into a folder of its own.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from utils.models import REFERENCE_MODEL
from utils.paths import data_dir
from utils.settings import DASHSCOPE_BASE_URLS

UNKEYED = ("stream", "stream_options")  # how an answer is delivered, not what is asked
MODEL_STUDIO_HOSTS = {urlsplit(url).hostname: region for region, url in DASHSCOPE_BASE_URLS.items()}


class RecordingError(ValueError):
    """A recording would be stored where it must not be; the message says where it can go."""


def recorded_dir() -> Path:
    """The committed recordings: ``data/recorded``."""
    return data_dir() / "recorded"


def request_key(request: Mapping[str, Any]) -> str:
    """SHA-256 of the request as canonical JSON, without the keys that only shape delivery."""
    asked = {k: v for k, v in request.items() if k not in UNKEYED}
    canonical = json.dumps(asked, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def region_of(base_url: str) -> str | None:
    """'intl' or 'cn' for Model Studio's own endpoints; None for any other server."""
    return MODEL_STUDIO_HOSTS.get(urlsplit(str(base_url)).hostname)


@dataclass(frozen=True)
class Recording:
    """One stored answer and its provenance."""

    request: dict
    response: dict
    model: str
    endpoint: str  # host (and port) that answered; never a key
    region: str | None  # 'intl', 'cn', or None when not Model Studio
    recorded_on: str  # ISO date
    sdk_version: str
    path: Path

    @property
    def text(self) -> str:
        """The first choice's answer text ('' if it had none, e.g. only tool calls)."""
        choices = self.response.get("choices") or [{}]
        return (choices[0].get("message") or {}).get("content") or ""

    def label(self) -> str:
        """Where and when this answer was recorded, in one line."""
        where = (
            f"Model Studio ({self.region})"
            if self.region
            else f"{self.endpoint} (not Model Studio)"
        )
        return (
            f"{self.model} on {where}, recorded {self.recorded_on} with openai {self.sdk_version}"
        )


def _folder(folder: Path | None) -> Path:
    return Path(folder) if folder is not None else recorded_dir()


def save(
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    base_url: str,
    folder: Path | None = None,
) -> Path:
    """Store ``response`` to ``request`` from ``base_url``; return the file written.

    The committed folder takes only answers from Model Studio's own endpoints.
    """
    folder = _folder(folder)
    region = region_of(base_url)
    if region is None and folder.resolve() == recorded_dir().resolve():
        raise RecordingError(
            f"{urlsplit(str(base_url)).netloc} is not Model Studio: its answers must not be "
            "committed as recordings. Record into another folder (folder=...)."
        )
    model = request["model"]
    record = {
        "request": dict(request),
        "response": dict(response),
        "model": model,
        "endpoint": urlsplit(str(base_url)).netloc,
        "region": region,
        "recorded_on": datetime.date.today().isoformat(),
        "sdk_version": metadata.version("openai"),
    }
    path = folder / model / f"{request_key(request)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return path


def record_call(client, request: Mapping[str, Any], folder: Path | None = None) -> Recording:
    """Send ``request`` with ``client`` (not streamed), store the answer, and return it."""
    asked = {k: v for k, v in request.items() if k not in UNKEYED}
    response = client.chat.completions.create(**asked)
    path = save(asked, response.model_dump(exclude_none=True), str(client.base_url), folder)
    return _load(path)


def _load(path: Path) -> Recording:
    record = json.loads(path.read_text())
    fields = ("request", "response", "model", "endpoint", "region", "recorded_on", "sdk_version")
    return Recording(**{name: record[name] for name in fields}, path=path)


def find(request: Mapping[str, Any], folder: Path | None = None) -> Recording | None:
    """The recording of exactly this request, or None."""
    path = _folder(folder) / request["model"] / f"{request_key(request)}.json"
    return _load(path) if path.is_file() else None


def recorded_answer(
    request: Mapping[str, Any], model: str = REFERENCE_MODEL, folder: Path | None = None
) -> Recording | None:
    """``model``'s recorded answer to ``request`` (its own model id replaced), or None."""
    return find({**request, "model": model}, folder)


def beside(
    request: Mapping[str, Any],
    live: str,
    live_model: str,
    model: str = REFERENCE_MODEL,
    folder: Path | None = None,
) -> str:
    """The recorded answer of ``model`` (or "no recording yet") above the live one, labelled."""
    recording = recorded_answer(request, model, folder)
    if recording is None:
        first = (
            f"── Recorded: no recording yet of {model} for this request. "
            "With a DashScope key, `make record` stores one."
        )
    else:
        first = f"── Recorded: {recording.label()}\n{recording.text}"
    return f"{first}\n── Live: {live_model} (this run)\n{live}"

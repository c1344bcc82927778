"""Qwen2.5-Max's real answers, shown beside the live one: recorded and published answers.

Two kinds of real answer, shown the same way:

- a **recording**: Model Studio's response to exactly a lesson's request, made with
  ``make record`` and stored as ``data/recorded/<model>/<key>.json``. The key is the SHA-256 of
  the request (model, messages and every parameter, as canonical JSON; ``stream`` aside), so the
  same request finds the same file. Beside request and response it keeps the provenance: model
  id, endpoint host, region, date and the ``openai`` SDK version. Only answers from Model
  Studio's own endpoints may be saved into ``data/recorded/``; anything else (a test's stand-in,
  a local server) records into a folder of its own.
- a **published answer**: an answer a public benchmark stored, bundled in
  ``data/qwen25max_outputs/`` (MisguidedAttention: OpenRouter's alias ``qwen/qwen-max``;
  pfgen-bench: the exact snapshot ``qwen-max-2025-01-25``).

How a lesson shows one (the live answer, whatever the backend, stays beside it)::

    from utils.recordings import beside, published_answer, show_answer

    answer = published_answer("misguided_attention", "trolley_problem_easy", sample=0)
    print(answer.prompt)     # what was asked (print a few prompts, never all)
    show_answer(answer)      # label (source, date, sampling, caveat), then the whole answer

    request = {"model": settings.model, "messages": [{"role": "user", "content": answer.prompt}]}
    live = client.chat.completions.create(**request).choices[0].message.content
    print(beside(request, live, settings.model, published=answer))

``published_answer("pfgen_bench", "Q01", sample=3)`` gives trial 3 of question Q01. ``beside``
puts a ``make record`` recording of ``request`` first when one exists. Every answer is printed
whole between a parseable header, ``── answer model=… file=… prompt=… sample=… chars=…``, and
``── end of answer``; ``tests/test_shown_answers.py`` finds each one in the committed notebooks
and checks it is byte-equal to the bundled file. Nothing here ever makes an answer up.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from utils.models import REFERENCE_MODEL
from utils.paths import data_dir
from utils.published_answers import PublishedAnswer, published_answer
from utils.settings import DASHSCOPE_BASE_URLS, endpoint_region

__all__ = ["PublishedAnswer", "Recording", "beside", "published_answer", "show_answer"]

UNKEYED = ("stream", "stream_options")  # how an answer is delivered, not what is asked
MODEL_STUDIO_HOSTS = {urlsplit(url).hostname: region for region, url in DASHSCOPE_BASE_URLS.items()}


class RecordingError(ValueError):
    """A recording would be stored where it must not be; the message says where it can go."""


def recorded_dir() -> Path:
    """The committed recordings: ``data/recorded``."""
    return data_dir() / "recorded"


def request_key(request: Mapping[str, Any], base_url: str | None = None) -> str:
    """SHA-256 of a request as canonical JSON: the one key for a stored answer.

    A recording's key (no ``base_url``) leaves out the keys that only shape delivery, so a
    streamed and a plain request share one answer; the evaluation cache's key
    (``utils.evals.runner``) is the full request together with its endpoint.
    """
    if base_url is not None:
        asked: Mapping[str, Any] = {"base_url": str(base_url).rstrip("/"), "request": request}
    else:
        asked = {k: v for k, v in request.items() if k not in UNKEYED}
        if "max_completion_tokens" in asked:  # the cap's new name keys like the old (utils.clients)
            asked["max_tokens"] = asked.pop("max_completion_tokens")
    canonical = json.dumps(asked, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def region_of(base_url: str) -> str | None:
    """'intl' or 'cn' for Model Studio's own endpoints (shared or workspace); None for others."""
    return endpoint_region(base_url)


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
        asked = {k: v for k, v in self.request.items() if k not in ("model", "messages")}
        sampling = ", ".join(f"{k} {v}" for k, v in sorted(asked.items())) or "default sampling"
        return (
            f"{self.model} on {where}, recorded {self.recorded_on} with openai {self.sdk_version}"
            f" · {sampling}"
        )

    @property
    def file(self) -> str:
        """The recording's file: a path inside ``data/`` when committed there."""
        try:
            return self.path.resolve().relative_to(data_dir().resolve()).as_posix()
        except ValueError:
            return str(self.path)

    @property
    def prompt_id(self) -> str:
        """The request's key (the file's name)."""
        return self.path.stem

    @property
    def sample(self) -> int:
        """Always 0: a recording holds one answer to its request."""
        return 0


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
    if "max_completion_tokens" in asked:  # the cap's new name keys like the old (utils.clients)
        asked["max_tokens"] = asked.pop("max_completion_tokens")
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


END_OF_ANSWER = "── end of answer"
_HEADER = re.compile(
    r"^── answer model=(?P<model>\S+) file=(?P<file>\S+) prompt=(?P<prompt>\S+) "
    r"sample=(?P<sample>\d+) chars=(?P<chars>\d+)$",
    re.MULTILINE,
)


def answer_block(answer: Recording | PublishedAnswer) -> str:
    """``answer`` whole, under its label and a parseable header, closed by ``── end of answer``."""
    kind = "Recorded" if isinstance(answer, Recording) else "Published"
    header = (
        f"── answer model={answer.model} file={answer.file} prompt={answer.prompt_id} "
        f"sample={answer.sample} chars={len(answer.text)}"
    )
    return f"── {kind}: {answer.label()}\n{header}\n{answer.text}\n{END_OF_ANSWER}"


def show_answer(answer: Recording | PublishedAnswer) -> None:
    """Print ``answer_block(answer)``."""
    print(answer_block(answer))


def shown_answers(text: str) -> list[dict]:
    """Every answer block in ``text`` (a cell's printed output), in order.

    Each is ``{"model", "file", "prompt", "sample", "text"}``; a header whose answer is cut
    short or not followed by ``── end of answer`` raises ``ValueError``.
    """
    found = []
    for match in _HEADER.finditer(text):
        start = match.end() + 1
        end = start + int(match["chars"])
        body = text[start:end]
        if len(body) != int(match["chars"]) or not text.startswith(f"\n{END_OF_ANSWER}", end):
            raise ValueError(f"the answer under {match.group(0)!r} is not printed whole")
        found.append({**match.groupdict(), "sample": int(match["sample"]), "text": body})
    found_headers = len(re.findall(r"^── answer ", text, re.MULTILINE))
    if found_headers != len(found):
        raise ValueError("an answer header does not have the form answer_block writes")
    return found


def beside(
    request: Mapping[str, Any],
    live: str,
    live_model: str,
    model: str = REFERENCE_MODEL,
    folder: Path | None = None,
    published: PublishedAnswer | Sequence[PublishedAnswer] = (),
) -> str:
    """Real answers above the live one, each labelled: ``model``'s recording of ``request``
    (``make record``) if there is one, then the ``published`` answers given."""
    if isinstance(published, PublishedAnswer):
        published = [published]
    recording = recorded_answer(request, model, folder)
    blocks = [answer_block(a) for a in ([recording] if recording else []) + list(published)]
    if not blocks:
        blocks = [
            f"── Recorded: no recording yet of {model} for this request. "
            "With a DashScope key, `make record` stores one."
        ]
    return "\n".join([*blocks, f"── Live: {live_model} (this run)\n{live}"])

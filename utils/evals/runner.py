"""Run many chat requests: bounded concurrency, a progress bar, errors recorded, a disk cache.

    outcomes = await run(requests, client, cache=ResponseCache(path))   # in a notebook cell

``requests`` are the keyword arguments of ``client.chat.completions.create`` (``model``,
``messages``, ``max_tokens``, ...). Each request gets one ``Outcome``, in order. A failed
request records its error and the run goes on. The cache is keyed by the full request and the
endpoint, so running the same requests again makes no model calls at all; it never stores
the API key. For runs too big to do interactively, ``write_batch_file`` writes the same
requests as a Batch-API input file (OpenAI and DashScope use the same format).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import openai
from tqdm import tqdm

BATCH_URL = "/v1/chat/completions"  # the endpoint path both Batch APIs expect in each line
# Options of the SDK call, not of the request: they must not reach the cache or a batch file.
CLIENT_OPTIONS = {"extra_headers", "extra_query", "extra_body", "timeout"}


@dataclass(frozen=True)
class Outcome:
    """What one request produced: the answer and its usage, or the error."""

    text: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float  # how long the model call took (for a cache hit: the original call)
    cached: bool  # True: read from the cache, no model call made
    error: str | None  # "BadRequestError: ..." when the request failed, else None


def request_key(request: dict, base_url: str) -> str:
    """SHA-256 of the full request and the endpoint: equal only for identical calls."""
    payload = {"base_url": str(base_url).rstrip("/"), "request": request}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Responses on disk in one SQLite file, keyed by ``request_key`` (never the API key)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, request TEXT NOT NULL, "
            "response TEXT NOT NULL, seconds REAL NOT NULL)"
        )
        self._db.commit()

    def get(self, request: dict, base_url: str) -> tuple[dict, float] | None:
        """The stored ``(response, seconds)`` for this request at this endpoint, if any."""
        row = self._db.execute(
            "SELECT response, seconds FROM responses WHERE key = ?",
            (request_key(request, base_url),),
        ).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def put(self, request: dict, base_url: str, response: dict, seconds: float) -> None:
        """Store a response (a ``ChatCompletion`` as a dict) and how long the call took."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
            (
                request_key(request, base_url),
                json.dumps(request, ensure_ascii=False),
                json.dumps(response, ensure_ascii=False),
                seconds,
            ),
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _outcome(response: dict, seconds: float, cached: bool) -> Outcome:
    choice = (response.get("choices") or [{}])[0]
    usage = response.get("usage") or {}
    return Outcome(
        text=(choice.get("message") or {}).get("content"),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        seconds=seconds,
        cached=cached,
        error=None,
    )


def _check(requests: Sequence[dict]) -> None:
    for index, request in enumerate(requests):
        if not isinstance(request, dict) or not {"model", "messages"} <= set(request):
            raise ValueError(
                f"request {index} must be a dict with at least 'model' and 'messages' (the "
                "arguments of client.chat.completions.create)"
            )
        if request.get("stream"):
            raise ValueError(f"request {index} has stream=True: the runner needs whole responses")
        if request.get("n", 1) != 1:
            raise ValueError(
                f"request {index} asks for n={request['n']} answers; the runner keeps one per "
                "request: send n requests instead (each with its own seed)"
            )
        if client_only := sorted(CLIENT_OPTIONS & set(request)):
            raise ValueError(
                f"request {index} has {client_only}: those are client options, not part of the "
                "request, and would be written to the cache or a batch file; set them on the client"
            )
        try:
            json.dumps(request)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"request {index} cannot be written as JSON ({error}); convert numpy numbers "
                "with int() or float() and pass plain lists and dicts"
            ) from error


async def run(
    requests: Sequence[dict],
    client: openai.AsyncOpenAI,
    cache: ResponseCache | None = None,
    concurrency: int = 4,
    progress: bool = True,
) -> list[Outcome]:
    """Send every request (at most ``concurrency`` at a time); one ``Outcome`` each, in order."""
    _check(requests)
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    base_url = str(client.base_url)
    gate = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(requests), desc="requests", disable=not progress, mininterval=2.0)

    async def one(request: dict) -> Outcome:
        hit = cache.get(request, base_url) if cache is not None else None
        if hit is not None:
            bar.update()
            return _outcome(*hit, cached=True)
        async with gate:
            started = time.perf_counter()
            try:
                response = await client.chat.completions.create(**request)
            except Exception as error:  # recorded, never raised: one bad item must not stop a run
                bar.update()
                return Outcome(None, None, None, None, time.perf_counter() - started, False,
                               f"{type(error).__name__}: {error}")  # fmt: skip
            seconds = time.perf_counter() - started
        data = response.model_dump(mode="json")
        if cache is not None:
            try:
                cache.put(request, base_url, data, seconds)
            except sqlite3.Error as error:  # keep the answer even if the cache cannot store it
                warnings.warn(f"response not cached ({error}); the run goes on", stacklevel=2)
        bar.update()
        return _outcome(data, seconds, cached=False)

    try:
        return list(await asyncio.gather(*(one(request) for request in requests)))
    finally:
        bar.close()


def write_batch_file(requests: Sequence[dict], path: str | Path) -> Path:
    """Write ``requests`` as Batch-API input lines; ``custom_id`` is ``request-<index>``."""
    _check(requests)
    path = Path(path)
    with open(path, "w", encoding="utf-8") as handle:
        for index, request in enumerate(requests):
            line = {"custom_id": f"request-{index}", "method": "POST", "url": BATCH_URL,
                    "body": request}  # fmt: skip
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def read_batch_output(path: str | Path) -> dict[str, dict | None]:
    """A Batch-API output file as ``{custom_id: response body}`` (``None`` for failed lines)."""
    results = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            response = row.get("response") or {}
            ok = response.get("status_code") == 200 and not row.get("error")
            results[row["custom_id"]] = response.get("body") if ok else None
    return results

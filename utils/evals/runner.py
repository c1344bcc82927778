"""Run many chat requests: bounded concurrency, rate limits, retries, errors recorded, a disk cache.

    outcomes = await run(requests, client, cache=ResponseCache(path))   # in a notebook cell

``requests`` are the keyword arguments of ``client.chat.completions.create`` (``model``,
``messages``, ``max_tokens``, ...). Each request gets one ``Outcome``, in order. A failed
request (an API or network error) records its error and the run goes on; a bug (a misspelled
keyword) is raised. The cache is keyed by the full request and the endpoint, so running the
same requests again makes no model calls at all; it never stores the API key.

Identical requests (the same cache key) share one model call and get the same ``Outcome``:
a fresh run and its cached re-run then always agree. Identical requests that are *sampled*
(``temperature`` above 0 or not set) without a ``seed`` are refused before any call: you
meant several samples, and one shared answer would silently be counted N times (pass@k would
be wrong). Give each its own ``seed``, or set ``temperature=0`` if one answer is what you want.

Rate limits: requests are paced to the model's published limits (``rate_limits.py``; none for
models not in its table, such as the local one) or to the ``rate_limits`` you pass. The
runner retries by itself (the SDK's own retries are switched off for its calls): a 429 waits
as long as the server's ``Retry-After`` says, and holds back every request to that model
meanwhile; a connection error or a 5xx backs off exponentially. A request still refused with
429 after ``max_attempts`` is "not evaluated" (``Outcome.rate_limited``): it has no answer,
so it must never be scored as right or wrong.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import openai

from utils.evals.rate_limits import (
    Pacer,
    RateLimits,
    estimate_tokens,
    published_limits,
    retry_after_seconds,
)
from utils.progress import Progress
from utils.recordings import request_key

# Options of the SDK call, not of the request: they must not reach the cache or a batch file.
CLIENT_OPTIONS = {"extra_headers", "extra_query", "extra_body", "timeout"}
RETRIED = (openai.APIConnectionError, openai.InternalServerError)  # worth another try (and 429)


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
    rate_limited: bool = False  # still refused with 429 at the end: not evaluated
    attempts: int = 0  # model calls made for it (0: from the cache)
    waited: float = 0.0  # seconds spent waiting for rate limits and retries
    cached_tokens: int | None = None  # prompt tokens the server had cached (usage details)

    @property
    def evaluated(self) -> bool:
        """True when there is an answer to score; failed and rate-limited requests have none."""
        return self.error is None


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


def check_requests(requests: Sequence[dict]) -> None:
    """Refuse, before any call, what the runner or a batch file cannot send as asked."""
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


def _sampled_without_seed(request: dict) -> bool:
    temperature = request.get("temperature")
    return (temperature is None or temperature > 0) and request.get("seed") is None


def group_identical(requests: Sequence[dict], base_url: str) -> dict[str, list[int]]:
    """The indices of each distinct request (by cache key); refuse sampled duplicates without a seed."""
    groups: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request_key(request, base_url), []).append(index)
    for indices in groups.values():
        request = requests[indices[0]]
        if len(indices) > 1 and _sampled_without_seed(request):
            temperature = request.get("temperature", "the server's default")
            raise ValueError(
                f"requests {indices[:5]} are identical, sampled (temperature {temperature}) and "
                "have no seed: they would share one answer, not be separate samples. Give each "
                "its own seed (e.g. seed=i), or set temperature=0 if one answer is what you want."
            )
    return groups


def _outcome(response: dict, seconds: float, cached: bool, attempts: int = 0,
             waited: float = 0.0) -> Outcome:  # fmt: skip
    choice = (response.get("choices") or [{}])[0]
    usage = response.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return Outcome(
        text=(choice.get("message") or {}).get("content"),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        seconds=seconds,
        cached=cached,
        error=None,
        attempts=attempts,
        waited=round(waited, 3),
        cached_tokens=details.get("cached_tokens"),
    )


def _retry_delay(error: Exception, attempt: int, backoff: float) -> float | None:
    """Seconds to wait before trying again, or None when another try cannot help."""
    if isinstance(error, openai.RateLimitError):
        asked = retry_after_seconds(error.response.headers)
        return backoff * 2 ** (attempt - 1) if asked is None else asked
    if isinstance(error, RETRIED):
        return backoff * 2 ** (attempt - 1)
    return None


def _failure(error: Exception, seconds: float, attempts: int, waited: float) -> Outcome:
    return Outcome(None, None, None, None, seconds, False, f"{type(error).__name__}: {error}",
                   rate_limited=isinstance(error, openai.RateLimitError), attempts=attempts,
                   waited=round(waited, 3))  # fmt: skip


async def run(
    requests: Sequence[dict],
    client: openai.AsyncOpenAI,
    cache: ResponseCache | None = None,
    concurrency: int = 4,
    progress: bool = True,
    rate_limits: RateLimits | None = None,
    max_attempts: int = 4,
    max_retry_wait: float = 120.0,
    backoff: float = 1.0,
) -> list[Outcome]:
    """Send every request (at most ``concurrency`` at a time); one ``Outcome`` each, in order.

    ``rate_limits``: pace to these (for every model) instead of each model's published limits.
    A request is tried at most ``max_attempts`` times; a 429 waits for ``Retry-After`` (at most
    ``max_retry_wait`` seconds, else it gives up), a connection error or 5xx waits ``backoff``,
    then twice that, and so on. Other API errors (400, 401, 404, ...) are recorded at once.
    Anything else is a bug, not a failed request (``max_token=`` instead of ``max_tokens=``
    raises ``TypeError``): it is raised, and the requests still running are cancelled.
    """
    check_requests(requests)
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    base_url = str(client.base_url)
    groups = group_identical(requests, base_url)
    calls = client.with_options(max_retries=0)  # the runner retries itself, seeing every wait
    gate = asyncio.Semaphore(concurrency)
    pacers: dict[str, Pacer] = {}
    bar = Progress(len(requests), "requests", enabled=progress)  # a final line stays in the notebook

    def pacer_for(model: str) -> Pacer:
        if model not in pacers:
            limits = published_limits(model) if rate_limits is None else rate_limits
            pacers[model] = Pacer(limits)
        return pacers[model]

    async def call(request: dict) -> Outcome:
        pacer, estimate = pacer_for(request["model"]), estimate_tokens(request)
        waited = 0.0
        for attempt in range(1, max_attempts + 1):
            async with gate:
                waited += await pacer.wait(estimate)
                started = time.perf_counter()
                try:
                    response = await calls.chat.completions.create(**request)
                except openai.APIError as error:  # the API or the network: recorded, the run goes on
                    failure, seconds = error, time.perf_counter() - started
                else:
                    seconds = time.perf_counter() - started
                    return answered(request, response.model_dump(mode="json"), seconds,
                                     attempt, waited, pacer, estimate)  # fmt: skip
            delay = _retry_delay(failure, attempt, backoff)
            if delay is None or delay > max_retry_wait or attempt == max_attempts:
                return _failure(failure, seconds, attempt, waited)
            if isinstance(failure, openai.RateLimitError):
                pacer.pause(delay)  # every request to this model waits: the limit is shared
            else:
                await asyncio.sleep(delay)  # outside the gate: others may go meanwhile
                waited += delay
        raise AssertionError("unreachable: the last attempt always returns")

    def answered(request, data, seconds, attempt, waited, pacer, estimate) -> Outcome:
        pacer.settle(estimate, (data.get("usage") or {}).get("total_tokens") or estimate)
        if cache is not None:
            try:
                cache.put(request, base_url, data, seconds)
            except sqlite3.Error as error:  # keep the answer even if the cache cannot store it
                warnings.warn(f"response not cached ({error}); the run goes on", stacklevel=2)
        return _outcome(data, seconds, False, attempt, waited)

    async def one(indices: list[int]) -> Outcome:
        request = requests[indices[0]]
        hit = cache.get(request, base_url) if cache is not None else None
        outcome = _outcome(*hit, cached=True) if hit is not None else await call(request)
        bar.update(len(indices))
        return outcome

    tasks = [asyncio.ensure_future(one(indices)) for indices in groups.values()]
    try:
        shared = await asyncio.gather(*tasks)
    except BaseException:  # a bug (a misspelled keyword: TypeError) stops the run, loudly
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        bar.close()
    outcomes: list[Outcome | None] = [None] * len(requests)
    for indices, outcome in zip(groups.values(), shared, strict=True):
        for index in indices:
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def summarize(outcomes: Sequence[Outcome]) -> str:
    """One line: how many were answered (from the cache), not evaluated, and the waiting."""
    answered = [o for o in outcomes if o.evaluated]
    limited = sum(o.rate_limited for o in outcomes)
    failed = len(outcomes) - len(answered) - limited
    parts = [f"{len(answered)} of {len(outcomes)} answered ({sum(o.cached for o in answered)} "
             "from the cache)"]  # fmt: skip
    if limited or failed:
        parts.append(f"{limited + failed} not evaluated ({limited} still rate-limited, "
                     f"{failed} failed)")  # fmt: skip
    retried = sum(max(0, o.attempts - 1) for o in outcomes)
    waited = sum(o.waited for o in outcomes)
    if retried or waited:
        parts.append(f"{retried} retries, {waited:.1f} s waited for rate limits and retries")
    return "; ".join(parts)

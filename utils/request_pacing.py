"""Space a client's requests to the model's published requests-per-minute limit.

Model Studio allows ``qwen-max-2025-01-25`` 60 requests a minute. A lesson cell that loops over
questions sends faster than that, and the 429s it then gets outlast the SDK's retries (a few
seconds of back-off against a one-minute window). So the course's DashScope clients send at
most one request every ``60 / rpm`` seconds: the first at once, the next when its turn comes.

One ``RequestSpacing`` per endpoint and model is shared by every client in this process, sync
and async, since the limit is the account's, not the client's. Each HTTP request counts,
retries included.

**One pacing algorithm.** ``TokenBucket`` is the course's only pacer. ``RequestSpacing`` is a
bucket that holds one request, so requests go evenly spaced. The evaluation runner's ``Pacer``
(``utils.evals.rate_limits``, lesson 05) has two buckets, for requests and for tokens, that
each hold one second's worth, so a second's worth may go at once. The clients keep the even
spacing because they see each HTTP request, the SDK's retries too, and a client that bursts
can crowd a server's one-second window.

**The test clock.** Both keep real time, except in the test suite's key-path run: there
``COOKBOOK_TEST_CLOCK_SPEED=k`` (set by ``--standin-clock-speed``, tests/README.md) makes a
minute of the rate limits last 60/k seconds, here and in the Model Studio stand-in alike, so
the published 60 requests a minute are kept (and refused when not) k times sooner.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable

import httpx2
import openai

CLOCK_SPEED = "COOKBOOK_TEST_CLOCK_SPEED"


def clock_speed() -> float:
    """How many times faster than real time the rate limits' minute runs: 1 unless the test
    suite set ``COOKBOOK_TEST_CLOCK_SPEED`` (a number from 1 up)."""
    value = os.environ.get(CLOCK_SPEED, "").strip()
    speed = float(value) if value else 1.0
    if not speed >= 1:  # (also NaN)
        raise ValueError(f"{CLOCK_SPEED} must be a number from 1 up, got {value!r}")
    return speed


def minute_seconds() -> float:
    """The real seconds of one rate-limit minute: 60, or 60/k on the test clock."""
    return 60 / clock_speed()


class TokenBucket:
    """The one pacing algorithm of the course: a bucket that holds at most ``burst`` and is
    refilled at ``per_minute`` a minute (of ``minute_seconds()`` real seconds); a request takes
    from it, or waits until there is enough. ``burst`` is one second's worth (``per_minute / 60``,
    as Model Studio also limits per second) unless given: 1 spaces requests evenly.
    """

    def __init__(self, per_minute: float, now: float, burst: float | None = None) -> None:
        if per_minute <= 0:
            raise ValueError(f"a rate limit must be positive, got {per_minute}")
        self.rate = per_minute / minute_seconds()
        self.capacity = per_minute / 60 if burst is None else burst
        self.level, self.updated = self.capacity, now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (a request bigger than the bucket waits until
        it is full, then leaves it in debt, so the requests after it wait longer)."""
        return max(0.0, min(amount, self.capacity) - self.level) / self.rate

    def take(self, amount: float) -> None:
        self.level -= amount

    def refund(self, amount: float, now: float) -> None:
        """Give ``amount`` back (less than 0: take more), never above what the bucket holds."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)

    def reserve(self, amount: float, now: float) -> float:
        """Take ``amount`` now for a request that goes after the returned seconds (the requests
        after it then wait their turn behind it)."""
        self.refill(now)
        wait = self.delay(amount)
        self.take(amount)
        return wait


class RequestSpacing:
    """Hands out send times at least ``60 / requests_per_minute`` seconds apart (a minute of
    ``minute_seconds()`` real seconds): a ``TokenBucket`` that holds one request."""

    def __init__(self, requests_per_minute: float, clock: Callable[[], float] = time.monotonic):
        self._bucket = TokenBucket(requests_per_minute, clock(), burst=1)
        self.requests_per_minute = requests_per_minute
        self.interval = minute_seconds() / requests_per_minute
        self._clock = clock
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next free send time; return the seconds to wait for it."""
        with self._lock:
            return self._bucket.reserve(1, self._clock())

    def wait(self, request: httpx2.Request | None = None) -> None:
        """A sync httpx event hook: sleep until this request's turn."""
        time.sleep(self.reserve())

    async def await_turn(self, request: httpx2.Request | None = None) -> None:
        """An async httpx event hook: sleep (without blocking the loop) until this request's turn."""
        await asyncio.sleep(self.reserve())


_shared: dict[tuple[str, str], RequestSpacing] = {}
_shared_lock = threading.Lock()


def spacing_for(base_url: str, model: str, requests_per_minute: float) -> RequestSpacing:
    """The process's one spacing for ``model`` at ``base_url`` (made on first use)."""
    with _shared_lock:
        spacing = _shared.get((base_url, model))
        interval = minute_seconds() / requests_per_minute
        if spacing is None or (spacing.requests_per_minute, spacing.interval) != (
            requests_per_minute, interval
        ):
            spacing = _shared[(base_url, model)] = RequestSpacing(requests_per_minute)
        return spacing


def paced_http_client(spacing: RequestSpacing, asynchronous: bool = False):
    """The SDK's default HTTP client with ``spacing`` as a request hook (for ``http_client=``)."""
    if asynchronous:
        return openai.DefaultAsyncHttpx2Client(event_hooks={"request": [spacing.await_turn]})
    return openai.DefaultHttpx2Client(event_hooks={"request": [spacing.wait]})

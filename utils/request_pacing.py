"""Space a client's requests to the model's published requests-per-minute limit.

Model Studio allows ``qwen-max-2025-01-25`` 60 requests a minute. A lesson cell that loops over
questions sends faster than that, and the 429s it then gets outlast the SDK's retries (a few
seconds of back-off against a one-minute window). So the course's DashScope clients send at
most one request every ``60 / rpm`` seconds: the first at once, the next when its turn comes.

One ``RequestSpacing`` per endpoint and model is shared by every client in this process, sync
and async, since the limit is the account's, not the client's. Each HTTP request counts,
retries included. The evaluation runner paces tokens as well (``utils.evals.rate_limits``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx2
import openai


class RequestSpacing:
    """Hands out send times at least ``60 / requests_per_minute`` seconds apart."""

    def __init__(self, requests_per_minute: float, clock: Callable[[], float] = time.monotonic):
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.interval = 60 / requests_per_minute
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next free send time; return the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

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
        if spacing is None or spacing.requests_per_minute != requests_per_minute:
            spacing = _shared[(base_url, model)] = RequestSpacing(requests_per_minute)
        return spacing


def paced_http_client(spacing: RequestSpacing, asynchronous: bool = False):
    """The SDK's default HTTP client with ``spacing`` as a request hook (for ``http_client=``)."""
    if asynchronous:
        return openai.DefaultAsyncHttpx2Client(event_hooks={"request": [spacing.await_turn]})
    return openai.DefaultHttpx2Client(event_hooks={"request": [spacing.wait]})

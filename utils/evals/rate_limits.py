"""Stay under a provider's rate limits: pace requests and tokens per minute, honour Retry-After.

Model Studio limits every model per account: requests per minute (RPM) and tokens per minute
(TPM), and "rate limits may also be enforced at the per-second level" (RPM/60 and TPM/60), so a
burst can be refused even when the minute's total is fine. ``Pacer`` therefore lets through at
most one second's worth at once and then spaces requests evenly: two token buckets, one
counting requests and one counting tokens, each refilled at its limit / 60 per second. The
bucket is ``utils.request_pacing.TokenBucket``, the one the course's clients are paced with.

A request's tokens are not known before the answer, so the pacer charges an estimate first
(``estimate_tokens``: the prompt's characters / 3 plus ``max_tokens``) and settles the
difference with the real ``usage.total_tokens`` afterwards. When the server still answers
429, ``retry_after_seconds`` reads how long it asked us to wait, and ``Pacer.pause`` holds
back every request to that model for that long (the limit is shared by all of them).

On the test suite's fast clock (``utils.request_pacing.clock_speed``) a minute lasts 60/k
seconds: the buckets refill k times faster and hold one k-th of a second's worth.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from utils.model_table import rate_limits as model_rate_limits
from utils.request_pacing import TokenBucket

RATE_LIMITS_PAGE = "https://www.alibabacloud.com/help/en/model-studio/rate-limit"


@dataclass(frozen=True)
class RateLimits:
    """Requests and tokens per minute for one model; ``None`` means not limited."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    source: str = ""  # where the numbers come from

    def __str__(self) -> str:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            return "no rate limit"
        rpm = "any" if self.requests_per_minute is None else f"{self.requests_per_minute:,.10g}"
        tpm = "any" if self.tokens_per_minute is None else f"{self.tokens_per_minute:,.10g}"
        return f"{rpm} requests and {tpm} tokens per minute"


def published_limits(model: str | None) -> RateLimits:
    """The published limits of ``model`` from the course's model table (``utils.model_table``).

    No limit for a model the table does not list (the local one, another server's). Your
    account's limits may differ: pass your own ``RateLimits`` to the runner.
    """
    rpm, tpm = model_rate_limits(model)
    return RateLimits() if rpm is None and tpm is None else RateLimits(rpm, tpm, RATE_LIMITS_PAGE)


def estimate_tokens(request: dict) -> int:
    """Tokens to reserve before a call: prompt characters / 3 (generous) plus ``max_tokens``."""
    prompt = json.dumps(request.get("messages", []), ensure_ascii=False)
    answer = request.get("max_completion_tokens") or request.get("max_tokens") or 0
    return math.ceil(len(prompt) / 3) + int(answer)


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or
    as an HTTP date; ``None`` when it did not say (or said something unreadable)."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        value = lowered.get("retry-after", "").strip()
        if not value:
            return None
        if value.replace(".", "", 1).isdigit():
            return float(value)
        when = email.utils.parsedate_to_datetime(value)  # e.g. "Wed, 21 Oct 2026 07:28:00 GMT"
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Pacer:
    """Let requests through no faster than ``limits`` allow; one per model, shared by a run.

    ``clock`` and ``sleep`` are ``time.monotonic`` and ``asyncio.sleep``; tests pass fakes.
    """

    def __init__(
        self,
        limits: RateLimits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits, self._clock, self._sleep = limits, clock, sleep
        now, rpm, tpm = clock(), limits.requests_per_minute, limits.tokens_per_minute
        self._requests = TokenBucket(rpm, now) if rpm else None  # each holds a second's worth
        self._tokens = TokenBucket(tpm, now) if tpm else None
        self._paused_until = now
        self._lock: asyncio.Lock | None = None  # made on first use, inside the running loop

    async def wait(self, tokens: int = 0) -> float:
        """Wait until a request of about ``tokens`` tokens may go; return the seconds waited."""
        self._lock = self._lock or asyncio.Lock()
        started = self._clock()
        async with self._lock:  # first come, first served: waiting in line counts too
            while (delay := self._delay(tokens)) > 1e-9:  # (float dust after a sleep)
                await self._sleep(delay)
            if self._requests:
                self._requests.take(1)
            if self._tokens:
                self._tokens.take(tokens)
            return self._clock() - started

    def settle(self, estimated: int, used: int) -> None:
        """Correct the token charge once ``usage`` says how many tokens the call really used."""
        if self._tokens:
            self._tokens.refund(estimated - used, self._clock())

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now (the server answered 429)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _delay(self, tokens: int) -> float:
        now = self._clock()
        delays = [self._paused_until - now]
        for bucket, amount in ((self._requests, 1), (self._tokens, tokens)):
            if bucket:
                bucket.refill(now)
                delays.append(bucket.delay(amount))
        return max(delays)

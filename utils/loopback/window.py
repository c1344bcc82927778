"""How a fake server enforces a rate limit: it counts what came in the last window of time.

Pacing (``utils.request_pacing``) is the client's side: it waits its turn. A server's side
refuses: the flaky fake's 429 and the Model Studio stand-in (tests/) count the requests, or
tokens, of the last ``seconds`` in a ``SlidingWindow`` and answer 429 once a limit is reached.
"""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    """Amounts (requests, tokens) that came in the last ``seconds``, each with its time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._events: deque[tuple[float, float]] = deque()

    def total(self, now: float, within: float | None = None) -> float:
        """What came after ``now - seconds`` (or, with ``within``, after ``now - within``)."""
        while self._events and self._events[0][0] <= now - self.seconds:
            self._events.popleft()
        if within is None:
            return sum(amount for _, amount in self._events)
        return sum(amount for when, amount in self._events if when > now - within)

    def add(self, now: float, amount: float = 1) -> None:
        self._events.append((now, amount))

    def frees_in(self, now: float) -> float:
        """Seconds until the oldest amount leaves the window (a whole window when it is empty)."""
        return self._events[0][0] + self.seconds - now if self._events else self.seconds

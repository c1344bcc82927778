"""The instructor's live view of the room: requests in flight, queue, tokens/s, errors.

Load and throughput come from the engine's Prometheus ``/metrics`` (it needs a key: the
instructor's). ``/metrics`` has no error counts and the engine records no key with a request,
so errors *per key* cannot be had from it; the view counts the room's errors from the engine's
log instead, by kind: requests refused for a wrong or missing key (401), requests the engine
answered with an error (a prompt over the context limit, say), and streams a client
abandoned. None of these says which learner it was.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from utils.llama_api import LlamaAPI

# llama.cpp's log lines for each kind of error (its server's own wording)
REJECTED = "unauthorized: Invalid API Key"  # a 401
FAILED = " E srv    send_error: "  # the engine answered with an error
CANCELLED = "stop: cancel task"  # a request dropped before it finished (client gone, or shutdown)

LIMITATION = (
    "Errors per key are not available: the engine keeps no count of errors in /metrics and "
    "records no key with a request. Error counts below are for the whole room, from its log."
)


def read_metrics(url: str, api_key: str, timeout: float = 5.0) -> dict[str, float]:
    """The engine's ``/metrics`` (``url`` is its base URL, with or without ``/v1``)."""
    return LlamaAPI(url, api_key).metrics(timeout)


def error_kind(message: str) -> str:
    """A short name for an engine error message."""
    if "exceeds the available context size" in message:
        return "prompt over the context limit"
    return message.strip()[:60]


@dataclass
class LogCounter:
    """Counts error lines in the engine's log, reading only what was added since last time."""

    path: Path
    offset: int = 0
    counts: Counter = field(default_factory=Counter)

    def update(self) -> Counter:
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                added = log.read()
        except OSError:
            return self.counts
        complete = added.rfind(b"\n") + 1  # a half-written last line waits for the next call
        self.offset += complete
        for line in added[:complete].decode(errors="replace").splitlines():
            if REJECTED in line:
                self.counts["rejected key (401)"] += 1
            elif FAILED in line:
                self.counts[error_kind(line.split("error: ", 1)[-1])] += 1
            elif CANCELLED in line:
                self.counts["request dropped unfinished"] += 1
        return self.counts


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic()
    metrics: dict[str, float]
    errors: dict[str, int]


def view_line(previous: Snapshot | None, current: Snapshot, slots: int) -> str:
    """One line of the live view: the state now, rates since ``previous``."""
    m = current.metrics
    generated = prompt = 0.0
    if previous is not None and current.at > previous.at:
        seconds = current.at - previous.at

        def rate(name: str) -> float:
            return max(0.0, m.get(name, 0.0) - previous.metrics.get(name, 0.0)) / seconds

        generated = rate("llamacpp:tokens_predicted_total")
        prompt = rate("llamacpp:prompt_tokens_total")
    errors = ", ".join(f"{kind} {count}" for kind, count in sorted(current.errors.items()))
    return (
        f"{time.strftime('%H:%M:%S')}  in flight {m.get('llamacpp:requests_processing', 0):.0f}/{slots}"
        f" · queued {m.get('llamacpp:requests_deferred', 0):.0f}"
        f" · {generated:.0f} tokens/s out, {prompt:.0f} tokens/s prompt"
        f" · errors: {errors or 'none'}"
    )


def watch(url: str, api_key: str, log_path: Path, slots: int, interval: float = 2.0,
          count: int | None = None, say: Callable[[str], None] = print) -> None:  # fmt: skip
    """Print a line every ``interval`` seconds (``count`` lines, or until Ctrl-C)."""
    say(LIMITATION)
    say("Tokens are counted when a request finishes, so tokens/s moves in steps.")
    errors = LogCounter(log_path)  # counts since the room started (it starts a fresh log)
    previous = None
    shown = 0
    while count is None or shown < count:
        try:
            metrics = read_metrics(url, api_key)
        except (OSError, ValueError) as error:  # refused while the engine restarts (a revoked
            # key), or a line of /metrics that does not parse: say so and read again
            say(f"{time.strftime('%H:%M:%S')}  the engine does not answer ({error}); retrying")
            previous = None
        else:
            current = Snapshot(time.monotonic(), metrics, dict(errors.update()))
            say(view_line(previous, current, slots))
            previous = current
        shown += 1
        if count is None or shown < count:
            time.sleep(interval)

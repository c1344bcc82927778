"""A tiny OpenAI-compatible server on loopback that answers with a canned text and misbehaves
on request — a real broken stream or a real 429, in milliseconds and without a model.

* ``drop_after`` closes the connection partway through a stream; ``done_after`` ends it early.
* ``rate_limit=N`` accepts N requests per ``window`` seconds and answers the rest with 429,
  a ``Retry-After`` header (whole seconds until a request is accepted again) and Model
  Studio's message for it, "Requests rate limit exceeded, please try again later."

Exercise checks, tests and notebook 05 use it; notebook 02 breaks a real model server instead.

    with FlakyStreamServer(["Hel", "lo", " there"], drop_after=2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        ...  # a stream from client gives "Hel", "lo", then APIConnectionError
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

from utils.loopback.server import HangUp, JSONResponse, LoopbackAPI, Request, sse
from utils.loopback.window import SlidingWindow


def _event(model: str, choices: list[dict], usage: dict | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-flaky",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return sse(chunk)


def _delta(model: str, delta: dict, finish_reason: str | None = None) -> bytes:
    return _event(model, [{"index": 0, "delta": delta, "finish_reason": finish_reason}])


class FlakyStreamServer(LoopbackAPI):
    """Streams ``pieces`` as chat chunks; after ``drop_after`` of them, closes the connection.

    ``done_after`` instead ends the stream politely but early: ``[DONE]`` with no
    ``finish_reason``, as a server does when it cancels a request.

    With ``usage`` (a dict like ``{"prompt_tokens": 9, "completion_tokens": 3,
    "total_tokens": 12}``) a complete stream ends with a usage chunk, as hosted APIs send
    for ``stream_options={"include_usage": True}``. A request without ``stream`` gets the
    whole answer as one chat completion. ``delay`` is the pause before each piece.

    With ``rate_limit`` it accepts that many requests per ``window`` seconds; the others get
    429 with ``Retry-After`` (``rate_limit=0`` refuses every request). ``arrivals`` holds when
    each request came (``time.monotonic()``), ``refused`` how many got 429.
    """

    def __init__(
        self,
        pieces: list[str],
        drop_after: int | None = None,
        done_after: int | None = None,
        delay: float = 0.0,
        model: str = "flaky-model",
        usage: dict | None = None,
        rate_limit: int | None = None,
        window: float = 1.0,
    ) -> None:
        self.pieces, self.drop_after, self.piece_delay, self.model = pieces, drop_after, delay, model
        self.done_after, self.usage = done_after, usage
        self.rate_limit, self.window = rate_limit, window
        self.refused = 0
        self._accepted = SlidingWindow(window)  # the requests of the last window
        super().__init__()

    def respond(self, request: Request) -> JSONResponse | Iterator[bytes]:
        wait = self._admit(time.monotonic())
        if wait is not None:
            message = "Requests rate limit exceeded, please try again later."
            error = {"message": message, "type": "limit_requests", "code": "limit_requests"}
            return JSONResponse(429, {"error": error}, {"retry-after": str(wait)})
        if not request.body.get("stream"):
            return JSONResponse(200, self._completion())
        return self._stream()

    def _stream(self) -> Iterator[bytes]:
        yield _delta(self.model, {"role": "assistant"})
        for sent, piece in enumerate(self.pieces):
            if self.drop_after is not None and sent == self.drop_after:
                raise HangUp
            if self.done_after is not None and sent == self.done_after:
                yield sse("[DONE]")
                return
            time.sleep(self.piece_delay)
            yield _delta(self.model, {"content": piece})
        yield _delta(self.model, {}, finish_reason="stop")
        if self.usage is not None:
            yield _event(self.model, [], usage=self.usage)
        yield sse("[DONE]")

    def _admit(self, now: float) -> int | None:
        """None if the request that came at ``now`` may go; else whole seconds until one may."""
        with self.lock:
            if self.rate_limit is None:
                return None
            if self._accepted.total(now) < self.rate_limit:
                self._accepted.add(now)
                return None
            self.refused += 1
            return max(1, math.ceil(self._accepted.frees_in(now)))

    def _completion(self) -> dict:
        """The whole answer as one chat.completion (for a request without ``stream``)."""
        text = "".join(self.pieces)
        usage = self.usage or {"prompt_tokens": 1, "completion_tokens": len(self.pieces),
                               "total_tokens": 1 + len(self.pieces)}  # fmt: skip
        return {"id": "chatcmpl-flaky", "object": "chat.completion", "created": 0,
                "model": self.model, "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}]}  # fmt: skip

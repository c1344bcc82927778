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

import json
import math
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _delta(model: str, delta: dict, finish_reason: str | None = None) -> bytes:
    return _event(model, [{"index": 0, "delta": delta, "finish_reason": finish_reason}])


class FlakyStreamServer:
    """Streams ``pieces`` as chat chunks; after ``drop_after`` of them, closes the connection.

    ``done_after`` instead ends the stream politely but early: ``[DONE]`` with no
    ``finish_reason``, as llama-cpp-python's server does when another request arrives.

    With ``usage`` (a dict like ``{"prompt_tokens": 9, "completion_tokens": 3,
    "total_tokens": 12}``) a complete stream ends with a usage chunk, as hosted APIs send
    for ``stream_options={"include_usage": True}``. A request without ``stream`` gets the
    whole answer as one chat completion.

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
        self.pieces, self.drop_after, self.delay, self.model = pieces, drop_after, delay, model
        self.done_after, self.usage = done_after, usage
        self.rate_limit, self.window = rate_limit, window
        self.requests: list[dict] = []  # the JSON body of every chat request received
        self.arrivals: list[float] = []  # time.monotonic() of every request
        self.refused = 0
        self._accepted: deque[float] = deque()  # when the requests of the last window came
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked transfer, like a real streaming server

            def _send_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _send_json(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                wait = server._admit()
                if wait is not None:
                    message = "Requests rate limit exceeded, please try again later."
                    error = {"message": message, "type": "limit_requests", "code": "limit_requests"}
                    self._send_json(429, {"error": error}, {"retry-after": str(wait)})
                    return
                if not body.get("stream"):
                    self._send_json(200, server._completion())
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                self._send_chunk(_delta(server.model, {"role": "assistant"}))
                for sent, piece in enumerate(server.pieces):
                    if server.drop_after is not None and sent == server.drop_after:
                        self.close_connection = True  # no final chunk, no [DONE]: a cut wire
                        return
                    if server.done_after is not None and sent == server.done_after:
                        self._send_chunk(b"data: [DONE]\n\n")
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    time.sleep(server.delay)
                    self._send_chunk(_delta(server.model, {"content": piece}))
                self._send_chunk(_delta(server.model, {}, finish_reason="stop"))
                if server.usage is not None:
                    self._send_chunk(_event(server.model, [], usage=server.usage))
                self._send_chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")  # the end of a chunked body

            def log_message(self, *args):  # keep notebook and test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _admit(self) -> int | None:
        """None if this request may go; else the whole seconds until one may (Retry-After)."""
        with self._lock:
            now = time.monotonic()
            self.arrivals.append(now)
            if self.rate_limit is None:
                return None
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()
            if len(self._accepted) < self.rate_limit:
                self._accepted.append(now)
                return None
            self.refused += 1
            frees = self._accepted[0] + self.window - now if self._accepted else self.window
            return max(1, math.ceil(frees))

    def _completion(self) -> dict:
        """The whole answer as one chat.completion (for a request without ``stream``)."""
        text = "".join(self.pieces)
        usage = self.usage or {"prompt_tokens": 1, "completion_tokens": len(self.pieces),
                               "total_tokens": 1 + len(self.pieces)}  # fmt: skip
        return {"id": "chatcmpl-flaky", "object": "chat.completion", "created": 0,
                "model": self.model, "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}]}  # fmt: skip

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FlakyStreamServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

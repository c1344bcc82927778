"""One small HTTP server on loopback that plays an OpenAI-compatible endpoint, for lessons and tests.

A subclass says what to answer by overriding ``respond(request)``, which returns either a
``JSONResponse`` (a JSON or bytes body, a status and headers) or an iterator of server-sent events
(a stream; raise ``HangUp`` inside it to cut the connection as a crash would). Everything
else lives here once: a free port on 127.0.0.1, threads, chunked streaming, and a record of
what arrived (``requests``, ``arrivals``, ``hits``, ``max_in_flight``).

The course's fakes are subclasses: ``utils.scripted_api.ScriptedAPI`` (replies you write),
``utils.flaky_server.FlakyStreamServer`` (a stream that breaks, a 429) and the tests'
``FakeAPI`` (one canned status). Nothing here is a model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


@dataclass
class Request:
    """One request as it arrived: ``body`` is its JSON (``{}`` if none), ``raw`` its bytes."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    raw: bytes

    @property
    def body(self) -> dict:
        try:
            parsed = json.loads(self.raw) if self.raw else {}
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


@dataclass
class JSONResponse:
    """An answer: ``body`` (JSON, or bytes such as a file's content) with ``status`` and headers."""

    status: int
    body: dict | bytes
    headers: dict[str, str] = field(default_factory=dict)


class HangUp(Exception):  # noqa: N818 (it is an event, not an error of ours)
    """Raised inside a stream: close the connection at once, with no end marker."""


def sse(data: dict | str) -> bytes:
    """One server-sent event: ``data: <json>`` (or the literal ``[DONE]``)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()


class _QuietServer(ThreadingHTTPServer):
    """A server that lets a client hang up without printing a traceback into the notebook."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a reset or broken pipe: normal
            super().handle_error(request, client_address)


class LoopbackAPI:
    """A real HTTP server on a free loopback port; subclasses implement ``respond``."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay  # seconds to wait before answering each request
        self.requests: list[dict] = []  # the JSON body of every request, in arrival order
        self.arrivals: list[float] = []  # time.monotonic() when each request came
        self.paths: list[str] = []  # "POST /v1/chat/completions", ...
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as real servers

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(self.command, self.path, headers, raw)
                api._arrived(request)
                try:
                    if api.delay:
                        time.sleep(api.delay)
                    try:
                        answer = api.respond(request)
                    except Exception as error:  # a fake with a bug answers 500, like a server
                        message = f"{type(error).__name__}: {error}"
                        answer = JSONResponse(
                            500, {"error": {"message": message, "type": "server_error"}}
                        )
                    if isinstance(answer, JSONResponse):
                        self._send_json(answer)
                    else:
                        self._send_stream(answer)
                except OSError:  # the client gave up (a timeout test, a cancelled stream)
                    self.close_connection = True
                finally:
                    with api.lock:
                        api.in_flight -= 1

            do_GET = do_POST = do_DELETE = _handle

            def _send_json(self, reply: JSONResponse) -> None:
                raw = isinstance(reply.body, bytes)
                data = reply.body if raw else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header(
                    "content-type", "application/octet-stream" if raw else "application/json"
                )
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, events: Iterator[bytes]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                try:
                    for event in events:
                        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                        self.wfile.flush()
                except HangUp:  # no final chunk, no [DONE]: a cut wire
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")  # the end of a chunked body

            def log_message(self, *args):  # keep notebook and test output clean
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def hits(self) -> int:
        """How many requests arrived."""
        return len(self.arrivals)

    def _arrived(self, request: Request) -> None:
        with self.lock:
            self.paths.append(f"{request.method} {request.path}")
            self.requests.append(request.body)
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def respond(self, request: Request) -> JSONResponse | Iterator[bytes]:
        """The answer to one request; subclasses decide (this one says so, with a 501)."""
        message = f"{type(self).__name__} does not answer {request.method} {request.path}"
        return JSONResponse(501, {"error": {"message": message, "type": "not_implemented"}})

    def _key(self) -> str:
        return "sk-" + "ab" * 10  # made at run time: no key-like string in the repository

    def client(self, **options) -> openai.AsyncOpenAI:
        """An async client for this server (no retries: each request is one hit)."""
        return openai.AsyncOpenAI(
            api_key=self._key(), base_url=self.base_url, max_retries=0, **options
        )

    def sync_client(self, **options) -> openai.OpenAI:
        """A client for this server (no retries: each request is one hit)."""
        return openai.OpenAI(api_key=self._key(), base_url=self.base_url, max_retries=0, **options)

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

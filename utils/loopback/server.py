"""The one HTTP server on loopback that every fake endpoint of the course is built on.

A subclass says what to answer by overriding ``respond(request)``, which returns either a
``JSONResponse`` (a JSON or bytes body, a status and headers) or an iterator of server-sent events
(a stream; raise ``HangUp`` inside it to cut the connection as a crash would). A server that
needs the connection itself (a proxy, a stand-in that watches for a client hanging up, a file
server) overrides ``handle(exchange)`` instead: the raw hook, with the writers of ``Exchange``.
Everything else lives here once: a free port on 127.0.0.1, threads, the chunk writer, the
close, the context manager, and a record of what arrived (``requests``, ``arrivals``, ``hits``,
``max_in_flight``; kept by ``respond``'s path only).

The subclasses: in this package ``ScriptedAPI`` (replies you write), ``FlakyStreamServer`` (a
stream that breaks, a 429), ``LocalBatchAPI`` (a Batch API) and ``StaticSite`` (a folder's
files); in ``tests/`` the Model Studio
and hub stand-ins and ``FakeAPI``; in ``tools/record.py`` the recording proxy. Nothing here is
a model.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


@dataclass
class Request:
    """One request as it arrived: ``body`` is its JSON (``{}`` if none), ``raw`` its bytes."""

    method: str
    path: str
    headers: dict[str, str] = field(repr=False)  # names in lower case; may hold a key
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


EVENT_STREAM = (("content-type", "text/event-stream"),)


class Exchange:
    """One request and its connection, for a server that answers by hand (``handle``).

    ``request`` is what arrived (its body already read); ``handler`` is http.server's handler,
    for what the writers here do not cover (the raw request headers, a file copied to ``wfile``).
    """

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self.request = Request(handler.command, handler.path, headers, raw)

    def head(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Send the status line and ``headers`` (name, value pairs), ending the header block."""
        self.handler.send_response(status)
        for name, value in headers:
            self.handler.send_header(name, value)
        self.handler.end_headers()

    def write(self, data: bytes) -> None:
        """Send body bytes as they are."""
        self.handler.wfile.write(data)

    def send(self, reply: JSONResponse) -> None:
        """Send a whole answer with its length (only the headers to a HEAD request)."""
        raw = isinstance(reply.body, bytes)
        data = reply.body if raw else json.dumps(reply.body).encode()
        kind = "application/octet-stream" if raw else "application/json"
        self.head(reply.status, [("content-type", kind), ("content-length", str(len(data))),
                                 *reply.headers.items()])  # fmt: skip
        if self.request.method != "HEAD":
            self.write(data)

    def start_chunks(self, status: int = 200, headers: Iterable[tuple[str, str]] = EVENT_STREAM):
        """Start a chunked body (a stream): ``headers``, then ``transfer-encoding: chunked``."""
        self.head(status, [*headers, ("transfer-encoding", "chunked")])

    def chunk(self, data: bytes) -> None:
        """Send one chunk of a chunked body, at once."""
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()

    def end_chunks(self) -> None:
        """End a chunked body cleanly (the zero-length chunk)."""
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def hang_up(self) -> None:
        """Close the connection after this answer, however far it got (a cut wire)."""
        self.handler.close_connection = True

    def client_gone(self) -> bool:
        """True if the client has closed its end of the connection (it reads as end-of-file)."""
        return hung_up(self.handler.connection)


def hung_up(sock: socket.socket) -> bool:
    """True if the peer of ``sock`` has closed the connection (it reads as end-of-file)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _QuietServer(ThreadingHTTPServer):
    """A server that lets a client hang up without printing a traceback into the notebook."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a reset or broken pipe: normal
            super().handle_error(request, client_address)


class LoopbackAPI:
    """A real HTTP server on a free loopback port; subclasses implement ``respond`` or ``handle``.

    Class attributes a subclass may change: ``prefix`` (the path ``base_url`` ends with),
    ``methods`` (the HTTP methods it answers; others get http.server's 501), ``protocol`` and
    ``handler_base`` (the http.server handler ``exchange.handler`` is, for ``StaticSite``).
    """

    prefix = "/v1"
    methods: tuple[str, ...] = ("GET", "POST", "DELETE")
    protocol = "HTTP/1.1"  # keep-alive and chunked streams, as real servers
    api_key = "sk-" + "ab" * 10  # made at run time: no key-like string in the repository
    handler_base: type[BaseHTTPRequestHandler] = BaseHTTPRequestHandler  # a stdlib one to build on

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay  # seconds to wait before answering each request
        self.requests: list[dict] = []  # the JSON body of every request, in arrival order
        self.arrivals: list[float] = []  # time.monotonic() when each request came
        self.paths: list[str] = []  # "POST /v1/chat/completions", ...
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        api = self

        class Handler(api.handler_base):
            protocol_version = api.protocol

            def _handle(self) -> None:
                try:
                    api.handle(Exchange(self))
                except OSError:  # the client gave up (a timeout test, a cancelled stream)
                    self.close_connection = True

            def log_message(self, *args):  # keep notebook and test output clean
                pass

        for method in self.methods:
            setattr(Handler, f"do_{method}", Handler._handle)
        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + self.prefix
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def hits(self) -> int:
        """How many requests arrived."""
        return len(self.arrivals)

    def handle(self, exchange: Exchange) -> None:
        """Answer one request: record it, wait ``delay``, send what ``respond`` returns.

        The raw hook: a server that needs the connection itself overrides this.
        """
        self._arrived(exchange.request)
        try:
            if self.delay:
                time.sleep(self.delay)
            try:
                answer = self.respond(exchange.request)
            except Exception as error:  # a fake with a bug answers 500, like a server
                message = f"{type(error).__name__}: {error}"
                answer = JSONResponse(500, {"error": {"message": message, "type": "server_error"}})
            if isinstance(answer, JSONResponse):
                exchange.send(answer)
            else:
                self._send_events(exchange, answer)
        finally:
            with self.lock:
                self.in_flight -= 1

    @staticmethod
    def _send_events(exchange: Exchange, events: Iterator[bytes]) -> None:
        exchange.start_chunks()
        try:
            for event in events:
                exchange.chunk(event)
        except HangUp:  # no final chunk, no [DONE]: a cut wire
            exchange.hang_up()
            return
        exchange.end_chunks()

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

    def client(self, **options) -> openai.AsyncOpenAI:
        """An async client for this server (no retries: each request is one hit)."""
        return openai.AsyncOpenAI(
            api_key=self.api_key, base_url=self.base_url, max_retries=0, **options
        )

    def sync_client(self, **options) -> openai.OpenAI:
        """A client for this server (no retries: each request is one hit)."""
        return openai.OpenAI(
            api_key=self.api_key, base_url=self.base_url, max_retries=0, **options
        )

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

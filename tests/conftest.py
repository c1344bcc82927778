"""Fixtures shared by the unit tests (the session set-up is in the top-level conftest.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeAPI:
    """A real HTTP server on loopback that answers every request with one canned response."""

    def __init__(
        self,
        status: int,
        body: dict | None = None,
        headers: dict | None = None,
        delay: float = 0.0,
        models: list[str] | None = None,
    ):
        self.status, self.body, self.headers, self.delay = status, body or {}, headers or {}, delay
        self.models = models
        self.hits: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                api.hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                if api.delay:
                    threading.Event().wait(api.delay)
                if self.path.endswith("/models") and api.models is not None:
                    status, body = 200, {"object": "list", "data": [{"id": m} for m in api.models]}
                else:
                    status, body = api.status, api.body
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in api.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    pass

            do_GET = do_POST = _reply

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    """Factory: ``fake_api(status, body, headers=..., delay=..., models=[...])`` → FakeAPI."""
    servers = []

    def make(*args, **kwargs) -> FakeAPI:
        server = FakeAPI(*args, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def local_settings():
    """Settings for the suite's local model server (started once, stopped at session end)."""
    from utils import load_settings

    settings = load_settings()
    assert settings.provider == "local"
    return settings

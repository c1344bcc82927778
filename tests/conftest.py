"""Fixtures shared by the unit tests (the session set-up is in the top-level conftest.py)."""

from __future__ import annotations

import pytest

from utils.loopback_api import JSONResponse, LoopbackAPI, Request


class FakeAPI(LoopbackAPI):
    """Answers every request with one canned response (and ``GET /models`` with ``models``)."""

    def __init__(
        self,
        status: int,
        body: dict | None = None,
        headers: dict | None = None,
        delay: float = 0.0,
        models: list[str] | None = None,
    ):
        self.status, self.body, self.headers = status, body or {}, headers or {}
        self.models = models
        super().__init__(delay=delay)

    def respond(self, request: Request) -> JSONResponse:
        if request.path.endswith("/models") and self.models is not None:
            return JSONResponse(200, {"object": "list", "data": [{"id": m} for m in self.models]})
        return JSONResponse(self.status, self.body, self.headers)


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

"""Fixtures shared by the unit tests (the session set-up is in the top-level conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.model_studio_standin import ModelStudioStandIn
from utils.loopback import JSONResponse, LoopbackAPI, Request
from utils.loopback.scripted import completion, scripted_servers


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


@pytest.fixture
def own_state(monkeypatch, tmp_path):
    """A local-server world of the test's own; the suite's shared server is never touched.

    Its own state folder (so its own state file, log and start lock), the bundled model as the
    choice whatever a ``.env`` says, an empty RLHF server cache and a copy of the dictionary of
    started servers, all put back after. Any server the test started is stopped; one it left
    running without a record is killed and fails the test.
    """
    from utils import local_server
    from utils.local_model import BUNDLED
    from utils.local_server import process
    from utils.rlhf import served_model as served

    monkeypatch.setenv("COOKBOOK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COOKBOOK_LOCAL_MODEL", BUNDLED.alias)  # exported beats a .env
    before = dict(process.children)
    monkeypatch.setattr(process, "children", dict(before))
    monkeypatch.setattr(served, "_server", {})
    yield tmp_path
    local_server.stop()
    leaked = [
        child
        for pid, child in process.children.items()
        if pid not in before and child.poll() is None
    ]
    for child in leaked:  # each leads its own process group (start_new_session)
        process.signal_group(child.pid, process.KILL)
        child.wait(timeout=10)
    assert not leaked, f"the test left servers running: {[c.pid for c in leaked]}"


@pytest.fixture
def backend():
    """A scripted backend for the Model Studio stand-in: it answers "scripted answer", and
    ``backend.requests`` holds every body that reached it (a refused request reaches nothing)."""
    with scripted_servers() as make:
        yield make(lambda body: (200, completion("scripted answer")))


@pytest.fixture
def standin(backend):
    """The Model Studio stand-in in front of ``backend``, on the real clock."""
    with ModelStudioStandIn(backend.base_url, "scripted") as server:
        yield server


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    """The course's README, pyproject.toml and notebooks in a scratch folder, with
    ``tools.course`` pointed at it (tests/test_site_build.py points ``tools.site`` there too)."""
    from tools import course

    root = Path(__file__).resolve().parent.parent
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "notebooks", tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(course, "repo_root", lambda: tmp_path)
    return tmp_path

"""A model list that fails says why (issue 23: a 401 used to read "none could be listed")."""

import socket

import openai
import pytest

from utils.errors import explain
from utils.loopback import JSONResponse, LoopbackAPI, Request
from utils.served_models import available_models
from utils.settings import ConfigError, load_settings

REJECTED = {"error": {"message": "Invalid API key provided.", "type": "invalid_request_error"}}


@pytest.fixture
def no_model_set(monkeypatch, tmp_path):
    """An OpenAI-compatible backend with no OPENAI_MODEL: load_settings() must list the models."""
    monkeypatch.chdir(tmp_path)  # no .env above tmp_path
    monkeypatch.setenv("COOKBOOK_PROVIDER", "openai-compatible")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-" + "ef" * 10)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)

    def point_at(url: str) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", url)

    return point_at


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_a_rejected_key_is_raised_and_explained(fake_api, no_model_set):
    server = fake_api(401, REJECTED)
    with pytest.raises(openai.AuthenticationError):
        available_models(server.base_url, "sk-wrong")
    no_model_set(server.base_url)
    with pytest.raises(ConfigError, match="did not list its models .*401") as error:
        load_settings()
    advice = explain(error.value)
    assert "rejected the key" in advice and "OPENAI_API_KEY" in advice
    assert "ef" * 10 not in str(error.value) + advice


def test_an_unreachable_server_is_raised_and_explained(no_model_set):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(openai.APIConnectionError):
        available_models(url)
    no_model_set(url)
    with pytest.raises(ConfigError, match="did not list its models .*APIConnectionError") as error:
        load_settings()
    assert f"nothing is answering at {url}" in explain(error.value)


class _NoSuchModelNorList(LoopbackAPI):
    """404 for any model; 401 for the model list (its key may not list models)."""

    def respond(self, request: Request) -> JSONResponse:
        if request.path.endswith("/models"):
            return JSONResponse(401, REJECTED)
        return JSONResponse(404, {"error": {"message": "The model does not exist."}})


def test_a_missing_model_hint_says_why_the_list_failed():
    with _NoSuchModelNorList() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.NotFoundError) as error:
            client.chat.completions.create(model="gone", messages=[{"role": "user", "content": "hi"}])
        advice = explain(error.value)
    assert "Model 'gone' was not found" in advice
    assert f"{server.base_url} did not list its models (401: Invalid API key provided.)" in advice


def test_other_errors_get_no_advice():
    assert explain(ConfigError("a setting is wrong")) is None  # no API error behind it
    assert explain(ValueError("x")) is None

"""Each error a learner will hit, produced by a real HTTP server on loopback, and its advice."""

import socket

import openai
import pytest

from utils import describe_backend, explain, get_client
from utils.settings import Secret, Settings

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(base_url: str, **options) -> openai.OpenAI:
    settings = Settings("openai-compatible", base_url, "some-model", Secret("sk-test"), "test")
    return get_client(settings, **options)


def call(client, model="some-model"):
    return client.chat.completions.create(model=model, messages=MESSAGES)


def error_from(client, model="some-model") -> openai.APIError:
    with pytest.raises(openai.APIError) as caught:
        call(client, model)
    return caught.value


def dashscope_error(fake_api, region: str, status: int, body: dict, monkeypatch):
    """An error from a fake server standing in for DashScope's endpoint in ``region``."""
    import utils.errors

    server = fake_api(status, body)
    # The advice recognises DashScope by its URL; point that region's URL at the fake server.
    monkeypatch.setitem(utils.errors.DASHSCOPE_BASE_URLS, region, server.base_url)
    return error_from(client_for(server.base_url, max_retries=0))


def test_wrong_key_on_dashscope_points_at_key_and_region(fake_api, monkeypatch):
    body = {"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}}
    error = dashscope_error(fake_api, "intl", 401, body, monkeypatch)
    assert isinstance(error, openai.AuthenticationError)
    advice = explain(error)
    assert "DASHSCOPE_API_KEY" in advice and "Incorrect API key provided." in advice
    assert "DASHSCOPE_REGION=cn" in advice  # suggests the other region
    assert "sk-test" not in advice


def test_wrong_key_on_another_server_points_at_openai_api_key(fake_api):
    server = fake_api(401, {"error": {"message": "bad key"}})
    advice = explain(error_from(client_for(server.base_url)))
    assert "OPENAI_API_KEY" in advice and "DASHSCOPE_REGION" not in advice


def test_unknown_model_lists_what_the_endpoint_serves(fake_api):
    server = fake_api(
        404,
        {"error": {"message": "The model `qwen-maxx` does not exist", "code": "model_not_found"}},
        models=["qwen-max", "qwen-plus"],
    )
    error = error_from(client_for(server.base_url), model="qwen-maxx")
    assert isinstance(error, openai.NotFoundError)
    advice = explain(error)
    assert "'qwen-maxx' was not found" in advice
    assert "serves: qwen-max, qwen-plus" in advice and "OPENAI_MODEL" in advice


def test_not_found_with_no_model_list_suggests_the_v1_path(fake_api):
    server = fake_api(404, {"detail": "Not Found"})
    advice = explain(error_from(client_for(server.base_url)))
    assert "ends in /v1" in advice


def test_rate_limit_is_retried_by_the_sdk_then_explained(fake_api):
    server = fake_api(
        429,
        {"error": {"message": "Requests rate limit exceeded"}},
        headers={"retry-after-ms": "10"},
    )
    error = error_from(client_for(server.base_url, max_retries=2))
    assert isinstance(error, openai.RateLimitError)
    assert server.hits == 3  # one try and two retries
    advice = explain(error)
    assert "rate-limiting" in advice and "retried" in advice and "concurrency" in advice


def test_server_error_is_retried_then_explained(fake_api):
    server = fake_api(503, {"error": {"message": "overloaded"}}, headers={"retry-after-ms": "10"})
    error = error_from(client_for(server.base_url, max_retries=1))
    assert isinstance(error, openai.InternalServerError) and server.hits == 2
    assert "server error (503: 'overloaded')" in explain(error)


def test_context_overflow_explains_the_window(fake_api):
    server = fake_api(
        400, {"error": {"message": "Requested tokens (9000) exceed context window of 8192"}}
    )
    advice = explain(error_from(client_for(server.base_url.replace("127.0.0.1", "localhost"))))
    assert "context window" in advice and "8192 tokens" in advice


def _refused_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("recorded", ["same", None])
def test_connection_refused_on_loopback_says_how_to_start_the_local_model(
    recorded, monkeypatch, tmp_path
):
    port = _refused_port()
    monkeypatch.setattr("utils.errors.shared_server_port", lambda: port if recorded else None)
    monkeypatch.setenv("COOKBOOK_STATE_DIR", str(tmp_path))
    error = error_from(client_for(f"http://127.0.0.1:{port}/v1", max_retries=0))
    assert isinstance(error, openai.APIConnectionError)
    advice = explain(error)
    assert f"http://127.0.0.1:{port}/v1" in advice
    assert "python -m utils.local_server start" in advice
    assert "Its log is $COOKBOOK_STATE_DIR/local_server.log." in advice  # not this machine's folder
    assert str(tmp_path) not in advice


def test_a_dead_server_that_is_not_the_shared_one_is_not_sent_to_local_server_start(monkeypatch):
    port = _refused_port()
    monkeypatch.setattr("utils.errors.shared_server_port", lambda: port + 1)
    advice = explain(error_from(client_for(f"http://127.0.0.1:{port}/v1", max_retries=0)))
    assert "not the course's shared local model" in advice
    assert "utils.local_server start" not in advice and "log" not in advice


def test_unreachable_remote_names_the_settings_to_check():
    error = error_from(client_for("http://nonexistent.invalid/v1", max_retries=0))
    advice = explain(error)
    assert "http://nonexistent.invalid/v1" in advice and "DASHSCOPE_REGION" in advice


def test_timeout_is_explained(fake_api):
    server = fake_api(200, {}, delay=2.0)
    error = error_from(client_for(server.base_url, max_retries=0, timeout=0.3))
    assert isinstance(error, openai.APITimeoutError)
    assert "did not answer in time" in explain(error)


def test_non_api_errors_get_no_advice():
    assert explain(ValueError("x")) is None


def test_notebook_hint_is_appended_to_the_traceback(fake_api):
    from IPython.core.interactiveshell import InteractiveShell

    from utils.errors import install_notebook_hints

    server = fake_api(401, {"error": {"message": "bad key"}})
    shell = InteractiveShell.instance()
    try:
        assert install_notebook_hints() is True
        shell.user_ns["client"] = client_for(server.base_url)
        shell.user_ns["MESSAGES"] = MESSAGES
        result = shell.run_cell(
            "client.chat.completions.create(model='m', messages=MESSAGES)", store_history=False
        )
        error = result.error_in_exec
        assert isinstance(error, openai.AuthenticationError)
        assert any("OPENAI_API_KEY" in note for note in error.__notes__)
    finally:
        InteractiveShell.clear_instance()


def test_describe_backend_never_shows_the_key():
    key = "sk-" + "abcdefghijklmnop" * 2  # built, so the secret scanner passes this file
    for provider, url in (
        ("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        ("openai-compatible", "http://localhost:8000/v1"),
    ):
        line = describe_backend(Settings(provider, url, "qwen-max-2025-01-25", Secret(key), "why"))
        assert key not in line and url in line and "qwen-max-2025-01-25" in line


def test_describe_backend_local(local_settings):
    line = describe_backend(local_settings)
    assert line.startswith("Using local SmolLM2-135M-Instruct at http://127.0.0.1:")
    assert "Set DASHSCOPE_API_KEY to use Qwen2.5-Max." in line


def test_clients_use_the_settings(local_settings):
    from utils import get_async_client

    client = get_client(local_settings)
    assert str(client.base_url).rstrip("/") == local_settings.base_url
    assert client.max_retries == 3 and client.timeout.connect == 5.0
    assert isinstance(get_async_client(local_settings), openai.AsyncOpenAI)
    with pytest.raises(ValueError, match="load_settings"):
        get_client(Settings("local", None, "m", Secret("x"), "r"))

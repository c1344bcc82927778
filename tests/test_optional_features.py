"""Optional features an endpoint lacks are told apart from real errors, and explain() never raises."""

import io

import httpx
import openai
import pytest

from utils import explain, get_client
from utils.optional_features import (
    FEATURES,
    describe_refusal,
    optional_feature,
    refused_feature,
    request_json,
)
from utils.settings import Secret, Settings

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(base_url: str) -> openai.OpenAI:
    settings = Settings("openai-compatible", base_url, "some-model", Secret("sk-test"), "test")
    return get_client(settings, max_retries=0)


def caught(call) -> openai.APIError:
    with pytest.raises(openai.APIError) as error:
        call()
    return error.value


def upload(client):  # a streamed multipart request: its body cannot be read back
    return client.files.create(file=("batch.jsonl", io.BytesIO(b"{}\n")), purpose="batch")


REQUEST_SHAPES = {
    "json": lambda c: c.chat.completions.create(model="some-model", messages=MESSAGES),
    "streamed": lambda c: c.chat.completions.create(
        model="some-model", messages=MESSAGES, stream=True
    ),
    "multipart upload": upload,
    "no body": lambda c: c.models.list(),
    "batch create": lambda c: c.batches.create(
        input_file_id="file-1", endpoint="/v1/chat/completions", completion_window="24h"
    ),
}


def test_a_404_on_a_streamed_multipart_upload_is_explained_not_raised(fake_api):
    server = fake_api(404, {"error": {"message": "Not found: POST /v1/files"}})
    error = caught(lambda: upload(client_for(server.base_url)))
    # the shape that crashed explain() (issue 27): its body cannot be read back
    with pytest.raises(Exception, match="streaming request content"):
        error.request.content  # noqa: B018
    advice = explain(error)
    assert advice.startswith("What to do: This endpoint does not offer the Batch API")
    assert "404" in advice and "LocalBatchAPI" in advice


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 422, 429, 500, 501, 503])
@pytest.mark.parametrize("shape", sorted(REQUEST_SHAPES))
def test_explain_returns_advice_for_every_status_and_request_shape(fake_api, status, shape):
    server = fake_api(status, {"error": {"message": "refused"}})
    error = caught(lambda: REQUEST_SHAPES[shape](client_for(server.base_url)))
    advice = explain(error)
    assert isinstance(advice, str) and advice.startswith("What to do:")


class _BrokenRequest:
    """A request whose every attribute raises, as a half-built error might carry."""

    def __getattr__(self, name):
        raise RuntimeError(f"no {name}")


def test_explain_never_raises_even_when_the_error_itself_is_broken():
    error = openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/files"))
    error.request = _BrokenRequest()
    assert isinstance(explain(error), str)
    response = httpx.Response(404, request=httpx.Request("POST", "http://127.0.0.1:9/v1/files"))
    status_error = openai.NotFoundError("gone", response=response, body=None)
    status_error.request = _BrokenRequest()
    assert isinstance(explain(status_error), str)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_the_batch_routes_refused_name_the_batch_api(fake_api, status):
    server = fake_api(status, {"error": {"message": "no"}})
    for shape in ("multipart upload", "batch create"):
        error = caught(lambda shape=shape: REQUEST_SHAPES[shape](client_for(server.base_url)))
        assert refused_feature(error) == "batch"


def test_a_400_names_the_feature_only_when_its_message_does(fake_api):
    named = fake_api(400, {"error": {"message": "Batch is not supported for this workspace"}})
    assert refused_feature(caught(lambda: upload(client_for(named.base_url)))) == "batch"
    other = fake_api(400, {"error": {"message": "invalid jsonl line 3"}})
    assert refused_feature(caught(lambda: upload(client_for(other.base_url)))) is None


def test_a_chat_404_is_not_a_missing_feature(fake_api):
    server = fake_api(404, {"error": {"message": "model not found"}})
    error = caught(lambda: REQUEST_SHAPES["json"](client_for(server.base_url)))
    assert refused_feature(error) is None
    assert "Batch" not in explain(error)


def test_partial_mode_and_the_explicit_cache_are_recognised_by_the_request(fake_api):
    server = fake_api(400, {"error": {"message": "partial is not supported"}})
    client = client_for(server.base_url)
    partial = [*MESSAGES, {"role": "assistant", "content": "Once", "partial": True}]
    error = caught(lambda: client.chat.completions.create(model="m", messages=partial))
    assert refused_feature(error) == "partial"
    cached = fake_api(400, {"error": {"message": "cache_control is not supported"}})
    content = [{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": content}]
    error = caught(
        lambda: client_for(cached.base_url).chat.completions.create(model="m", messages=messages)
    )
    assert refused_feature(error) == "context_cache"
    assert "explicit context cache" in describe_refusal(error)


def test_optional_feature_prints_one_line_and_goes_on_but_raises_other_errors(fake_api, capsys):
    server = fake_api(404, {"error": {"message": "Not found"}})
    client = client_for(server.base_url)
    with optional_feature("batch") as batch_run:
        upload(client)
        raise AssertionError("not reached: the upload was refused")  # pragma: no cover
    assert not batch_run.ok and "Batch API" in batch_run.refused
    assert capsys.readouterr().out.strip() == batch_run.refused
    with pytest.raises(openai.NotFoundError), optional_feature("batch"):
        REQUEST_SHAPES["json"](client)  # a 404 on chat is a real error
    with pytest.raises(ValueError, match="unknown feature"):
        optional_feature("teleport")


def test_request_json_reads_json_and_gives_empty_for_anything_else():
    assert request_json(httpx.Request("POST", "http://x/v1", json={"model": "m"})) == {"model": "m"}
    assert request_json(httpx.Request("GET", "http://x/v1/models")) == {}
    streamed = httpx.Request("POST", "http://x/v1/files", content=iter([b"a"]))
    assert request_json(streamed) == {}
    assert request_json(None) == {}
    assert set(FEATURES) == {"batch", "models", "partial", "context_cache"}

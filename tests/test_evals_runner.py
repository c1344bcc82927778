"""utils.evals.runner: the async runner, its SQLite cache and the Batch-API files.

Model calls go to real HTTP servers: a scripted loopback server that counts the requests it
receives (so "zero calls" is measured, not assumed) and the suite's local model server.
"""

import asyncio
import json

import numpy as np
import pytest

from tests.scripted_api import completion, scripted_servers
from utils import get_async_client
from utils.evals import (
    ResponseCache,
    format_mcq,
    read_batch_output,
    request_key,
    run,
    write_batch_file,
)


@pytest.fixture
def scripted_api():
    """``scripted_api(reply=None, delay=0.0)`` → a ScriptedAPI on loopback that counts hits."""
    with scripted_servers() as make:
        yield make


def requests_for(texts, model="scripted", **params):
    return [{"model": model, "messages": [{"role": "user", "content": t}], **params} for t in texts]


def test_outcomes_come_back_in_order_with_usage(scripted_api, tmp_path):
    api = scripted_api()
    texts = [f"question {i}" for i in range(6)]
    outcomes = asyncio.run(run(requests_for(texts), api.client(), progress=False))
    assert [o.text for o in outcomes] == [f"echo: {t}" for t in texts]
    assert all(o.prompt_tokens == 7 and o.completion_tokens == 3 for o in outcomes)
    assert all(o.finish_reason == "stop" and not o.cached and o.error is None for o in outcomes)
    assert api.hits == 6


def test_a_rerun_with_the_cache_makes_zero_calls(scripted_api, tmp_path):
    api = scripted_api()
    requests = requests_for([f"question {i}" for i in range(5)], max_tokens=8)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = asyncio.run(run(requests, api.client(), cache=cache, progress=False))
    assert api.hits == 5 and len(cache) == 5
    reopened = ResponseCache(tmp_path / "cache.sqlite")  # a new kernel, the same file
    second = asyncio.run(run(requests, api.client(), cache=reopened, progress=False))
    assert api.hits == 5  # not one more request reached the server
    assert all(o.cached for o in second)
    assert [o.text for o in second] == [o.text for o in first]
    assert [o.seconds for o in second] == pytest.approx([o.seconds for o in first])


def test_the_cache_key_covers_the_whole_request_and_the_endpoint(scripted_api, tmp_path):
    api, other = scripted_api(), scripted_api()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    asyncio.run(run(requests_for(["hi"]), api.client(), cache=cache, progress=False))
    for changed in (requests_for(["hi"], model="other"), requests_for(["hi"], temperature=0)):
        asyncio.run(run(changed, api.client(), cache=cache, progress=False))
    assert api.hits == 3  # another model or another parameter is another request
    asyncio.run(run(requests_for(["hi"]), other.client(), cache=cache, progress=False))
    assert other.hits == 1  # same request, another server: not a cache hit
    assert request_key({"a": 1, "b": 2}, "http://x/v1") == request_key(
        {"b": 2, "a": 1}, "http://x/v1/"
    )


def test_the_cache_never_stores_the_api_key(scripted_api, tmp_path):
    api = scripted_api()
    client = api.client()
    asyncio.run(run(requests_for(["hi"]), client, cache=ResponseCache(tmp_path / "c.sqlite")))
    assert client.api_key.encode() not in (tmp_path / "c.sqlite").read_bytes()


def test_failed_items_are_recorded_and_the_run_goes_on(scripted_api, tmp_path):
    api = scripted_api()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    requests = requests_for(["one", "FAIL please", "three", "CRASH now"])
    outcomes = asyncio.run(run(requests, api.client(), cache=cache, progress=False))
    assert [o.error is None for o in outcomes] == [True, False, True, False]
    assert outcomes[1].error.startswith("BadRequestError") and outcomes[1].text is None
    assert outcomes[3].error.startswith("InternalServerError")
    assert outcomes[2].text == "echo: three"
    asyncio.run(run(requests, api.client(), cache=cache, progress=False))
    assert api.hits == 4 + 2  # errors are not cached: only the two failures are retried


def test_concurrency_is_bounded(scripted_api):
    api = scripted_api(delay=0.2)
    asyncio.run(run(requests_for(map(str, range(8))), api.client(), concurrency=3, progress=False))
    assert api.max_in_flight == 3  # the server saw at most three at once (and did see three)
    api.max_in_flight = 0
    asyncio.run(run(requests_for(["a", "b", "c"]), api.client(), concurrency=1, progress=False))
    assert api.max_in_flight == 1


def test_bad_requests_are_refused_before_any_call(scripted_api):
    api = scripted_api()
    with pytest.raises(ValueError, match="'model' and 'messages'"):
        asyncio.run(run([{"messages": []}], api.client(), progress=False))
    with pytest.raises(ValueError, match="n=3"):
        asyncio.run(run(requests_for(["x"], n=3), api.client(), progress=False))
    with pytest.raises(ValueError, match="client options"):
        asyncio.run(
            run(requests_for(["x"], extra_headers={"X-Key": "k"}), api.client(), progress=False)
        )
    with pytest.raises(ValueError, match="JSON"):  # a number read from a DataFrame
        asyncio.run(run(requests_for(["x"], max_tokens=np.int64(8)), api.client(), progress=False))
    with pytest.raises(ValueError, match="stream"):
        asyncio.run(run(requests_for(["x"], stream=True), api.client(), progress=False))
    with pytest.raises(ValueError, match="concurrency"):
        asyncio.run(run(requests_for(["x"]), api.client(), concurrency=0, progress=False))
    assert api.hits == 0


def test_batch_file_has_one_request_per_line(tmp_path):
    requests = requests_for(["first", "second"], max_tokens=16)
    path = write_batch_file(requests, tmp_path / "batch.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["custom_id"] for line in lines] == ["request-0", "request-1"]
    assert all(line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
    assert [line["body"] for line in lines] == requests


def test_batch_output_is_read_by_custom_id(tmp_path):
    rows = [
        {"custom_id": "request-0", "response": {"status_code": 200, "body": completion("A")}},
        {"custom_id": "request-1", "response": {"status_code": 400, "body": {}}, "error": None},
        {"custom_id": "request-2", "response": None, "error": {"message": "expired"}},
    ]
    path = tmp_path / "output.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    results = read_batch_output(path)
    assert results["request-0"]["choices"][0]["message"]["content"] == "A"
    assert results["request-1"] is None and results["request-2"] is None


def test_the_local_model_answers_through_the_runner_and_the_cache(local_settings, tmp_path):
    requests = [
        {
            "model": local_settings.model,
            "messages": format_mcq(q, ["yes", "no"]),
            "max_tokens": 8,
            "temperature": 0,
        }  # fmt: skip
        for q in ("Is water wet?", "Is fire cold?", "Is 2 + 2 = 4?")
    ]
    cache = ResponseCache(tmp_path / "cache.sqlite")

    async def twice():
        client = get_async_client(local_settings)
        return await run(requests, client, cache=cache), await run(requests, client, cache=cache)

    first, second = asyncio.run(twice())
    assert all(o.error is None and o.text and o.completion_tokens <= 8 for o in first)
    assert not any(o.cached for o in first) and all(o.cached for o in second)
    assert [o.text for o in second] == [o.text for o in first]  # read back, not regenerated

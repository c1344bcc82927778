"""utils.evals.runner: the async runner, its SQLite cache and the Batch-API files.

Model calls go to real HTTP servers: a scripted loopback server that counts the requests it
receives (so "zero calls" is measured, not assumed) and the suite's local model server.
"""

import asyncio
import itertools
import json
import socket
import threading
import time

import numpy as np
import openai
import pytest

from utils import get_async_client
from utils.evals import (
    RateLimits,
    ResponseCache,
    format_mcq,
    read_batch_output,
    request_key,
    run,
    summarize,
    write_batch_file,
)
from utils.loopback.flaky import FlakyStreamServer
from utils.loopback.scripted import completion, scripted_servers


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
    outcomes = asyncio.run(run(requests, api.client(), cache=cache, progress=False, backoff=0.01))
    assert [o.error is None for o in outcomes] == [True, False, True, False]
    assert [o.evaluated for o in outcomes] == [True, False, True, False]
    assert outcomes[1].error.startswith("BadRequestError") and outcomes[1].text is None
    assert outcomes[1].attempts == 1  # a 400 is not retried: the same request fails again
    assert outcomes[3].error.startswith("InternalServerError")
    assert outcomes[3].attempts == 4  # a 500 is retried (4 attempts by default), then recorded
    assert not any(o.rate_limited for o in outcomes)
    assert outcomes[2].text == "echo: three"
    assert api.hits == 1 + 1 + 1 + 4
    asyncio.run(run(requests, api.client(), cache=cache, progress=False, max_attempts=1))
    assert api.hits == 7 + 2  # errors are not cached: only the two failures are tried again


def test_a_bug_is_raised_not_counted_as_a_failed_request(scripted_api):
    api = scripted_api()
    requests = requests_for(["one", "two"]) + requests_for(["three"], max_token=5)  # typo
    with pytest.raises(TypeError, match="max_token"):
        asyncio.run(run(requests, api.client(), progress=False))
    # and an API error is still an outcome, not an exception
    outcomes = asyncio.run(run(requests_for(["FAIL please"]), api.client(), progress=False))
    assert outcomes[0].error.startswith("BadRequestError")
    assert summarize(outcomes) == "0 of 1 answered (0 from the cache); 1 not evaluated (0 still rate-limited, 1 failed)"


def test_a_network_error_is_a_failed_request():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    outcomes = asyncio.run(run(requests_for(["hi"]), client, progress=False, max_attempts=2, backoff=0.01))
    assert outcomes[0].error.startswith("APIConnectionError") and outcomes[0].attempts == 2


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


# --- identical requests (issue 14, bug 4) ---------------------------------------------


def counting_reply():
    """A reply that differs on every call, like sampling: "answer 1", "answer 2", ..."""
    counter = itertools.count(1)
    lock = threading.Lock()

    def reply(body):
        with lock:
            return 200, completion(f"answer {next(counter)}")

    return reply


def test_identical_requests_share_one_call_so_a_rerun_reads_back_the_same(scripted_api, tmp_path):
    api = scripted_api(counting_reply())
    requests = requests_for(["same"] * 3 + ["other"], temperature=0)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    fresh = asyncio.run(run(requests, api.client(), cache=cache, progress=False))
    assert api.hits == 2  # one call for the three identical requests, one for the other
    assert fresh[0] == fresh[1] == fresh[2] and fresh[3].text != fresh[0].text
    again = asyncio.run(run(requests, api.client(), cache=cache, progress=False))
    assert [o.text for o in again] == [o.text for o in fresh]  # a re-run agrees with the run
    assert api.hits == 2


def test_identical_sampled_requests_without_a_seed_are_refused(scripted_api):
    api = scripted_api(counting_reply())
    for params in ({"temperature": 0.8}, {}):  # no temperature: the server's default samples
        with pytest.raises(ValueError, match="own seed"):
            asyncio.run(run(requests_for(["same"] * 3, **params), api.client(), progress=False))
    assert api.hits == 0
    seeded = [{**request, "seed": seed}
              for seed, request in enumerate(requests_for(["same"] * 3, temperature=0.8))]  # fmt: skip
    outcomes = asyncio.run(run(seeded, api.client(), progress=False))
    assert len({o.text for o in outcomes}) == 3 and api.hits == 3  # three separate samples


# --- rate limits and Retry-After (issue 13) ----------------------------------------------


def flaky_client(server, **options):
    import openai

    return openai.AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0, **options)


def test_a_429_waits_for_retry_after_then_succeeds():
    with FlakyStreamServer(["fine"], rate_limit=2, window=1.0) as server:
        requests = requests_for([f"q{i}" for i in range(4)], model="flaky-model", temperature=0)
        started = time.monotonic()
        outcomes = asyncio.run(run(requests, flaky_client(server), progress=False, concurrency=4))
        elapsed = time.monotonic() - started
    assert [o.text for o in outcomes] == ["fine"] * 4 and all(o.evaluated for o in outcomes)
    assert server.refused >= 2  # two got 429 with Retry-After: 1
    assert sum(o.attempts for o in outcomes) == 4 + server.refused
    assert elapsed >= 1.0  # they waited as long as the server said
    assert sum(o.waited for o in outcomes) >= 1.0
    assert "retries" in summarize(outcomes) and "not evaluated" not in summarize(outcomes)


def test_still_rate_limited_at_the_end_is_not_evaluated():
    with FlakyStreamServer(["never"], rate_limit=0, window=1.0) as server:  # refuses everything
        requests = requests_for(["a", "b"], model="flaky-model", temperature=0)
        outcomes = asyncio.run(run(requests, flaky_client(server), progress=False, max_attempts=2))
    assert all(o.rate_limited and not o.evaluated and o.text is None for o in outcomes)
    assert all(o.error.startswith("RateLimitError") and o.attempts == 2 for o in outcomes)
    assert server.refused == 4
    assert "2 not evaluated (2 still rate-limited, 0 failed)" in summarize(outcomes)


def test_a_retry_after_longer_than_allowed_gives_up_at_once():
    with FlakyStreamServer(["x"], rate_limit=0, window=600) as server:  # Retry-After: 600
        outcomes = asyncio.run(run(requests_for(["a"], model="flaky-model", temperature=0),
                                   flaky_client(server), progress=False, max_retry_wait=5))  # fmt: skip
    assert outcomes[0].rate_limited and outcomes[0].attempts == 1 and server.refused == 1


def test_requests_are_paced_to_the_rate_limits_given():
    with FlakyStreamServer(["ok"]) as server:
        requests = requests_for([f"q{i}" for i in range(4)], model="flaky-model", temperature=0)
        limits = RateLimits(requests_per_minute=120)  # 2 a second: two at once, then every 0.5 s
        outcomes = asyncio.run(run(requests, flaky_client(server), progress=False,
                                   concurrency=4, rate_limits=limits))  # fmt: skip
        gaps = np.diff(server.arrivals)
    assert all(o.evaluated for o in outcomes)
    assert gaps[0] < 0.2 and all(gap >= 0.45 for gap in gaps[1:])  # the server saw them spaced


def test_published_limits_pace_qwen_max_by_default():
    with FlakyStreamServer(["ok"]) as server:  # it answers any model name
        requests = requests_for(["a", "b", "c"], model="qwen-max-2025-01-25", temperature=0)
        asyncio.run(run(requests, flaky_client(server), progress=False))
        gaps = np.diff(server.arrivals)
    assert all(gap >= 0.9 for gap in gaps)  # 60 requests a minute: one a second


def test_cached_prompt_tokens_are_read_from_usage(scripted_api):
    def reply(body):
        data = completion("hi")
        data["usage"]["prompt_tokens_details"] = {"cached_tokens": 5}
        return 200, data

    api = scripted_api(reply)
    outcomes = asyncio.run(run(requests_for(["x"]), api.client(), progress=False))
    assert outcomes[0].cached_tokens == 5

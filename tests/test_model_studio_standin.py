"""The Model Studio stand-in keeps each documented rule (see its module docstring for sources).

Rules that refuse a request are checked against a scripted loopback backend, which also shows
that a refused request never reaches the model. Rules about answers (streaming, cache, partial
mode) run against the real local model server.
"""

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import openai
import pytest

from tests.model_studio_standin import IMPLICIT_CACHE_MINIMUM, ModelStudioStandIn
from utils.clients import DashScopeClient
from utils.errors import explain
from utils.loopback import JSONResponse, LoopbackAPI
from utils.loopback.flaky import FlakyStreamServer
from utils.loopback.scripted import completion

SNAPSHOT = "qwen-max-2025-01-25"
HI = [{"role": "user", "content": "Say hi."}]
TOOL = {
    "type": "function",
    "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def standin(backend, clock):  # the stand-in of tests/conftest.py on a clock the test moves
    with ModelStudioStandIn(backend.base_url, "scripted", clock=clock) as server:
        yield server


def client(standin, key=None) -> openai.OpenAI:
    """The course's DashScope client: it sends ``max_tokens=`` as ``max_completion_tokens``."""
    return DashScopeClient(base_url=standin.base_url, api_key=key or standin.api_key, max_retries=0)


def refusal(standin, **request) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        client(standin).chat.completions.create(**{"model": SNAPSHOT, "messages": HI, **request})
    return caught.value


def test_limits_come_from_the_model_table(standin):
    limits = standin.limits[SNAPSHOT]
    assert (limits.context, limits.max_output, limits.rpm, limits.tpm) == (32768, 8192, 60, 100000)
    assert (limits.logprobs, limits.max_n, limits.json_schema) == (False, 1, False)


def test_lists_its_models_only_with_the_right_key(standin):
    assert SNAPSHOT in [m.id for m in client(standin).models.list()]
    for key in ("sk-" + "0" * 32, "wrong"):
        with pytest.raises(openai.AuthenticationError) as caught:
            client(standin, key).models.list()
        assert caught.value.body["code"] == "invalid_api_key"
        assert caught.value.body["message"].startswith("Incorrect API key provided.")


def test_a_request_without_a_key_is_refused(standin):
    host, port = urlsplit(standin.base_url).hostname, urlsplit(standin.base_url).port
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/compatible-mode/v1/models")
    response = connection.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["error"]["code"] == "invalid_api_key"


def test_answers_as_the_requested_model(standin, backend):
    response = client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, max_tokens=8)
    assert response.model == SNAPSHOT and response.choices[0].message.content == "scripted answer"
    assert backend.requests[0]["model"] == "scripted"
    assert response.usage.prompt_tokens_details.cached_tokens == 0


def test_unknown_model_is_404_and_never_reaches_the_model(standin, backend):
    error = refusal(standin, model="qwen-maxx")
    assert isinstance(error, openai.NotFoundError)
    assert error.body["code"] == "model_not_found"
    assert (
        error.body["message"]
        == "The model `qwen-maxx` does not exist or you do not have access to it."
    )
    assert backend.requests == []


def test_a_retired_model_gets_the_actionable_404_advice(backend, monkeypatch):
    import utils.errors

    with ModelStudioStandIn(backend.base_url, "scripted", models=["qwen-max", "qwen3-max"]) as gone:
        monkeypatch.setitem(utils.errors.DASHSCOPE_BASE_URLS, "intl", gone.base_url)
        monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
        monkeypatch.setenv("DASHSCOPE_API_KEY", gone.api_key)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", gone.base_url)
        advice = explain(refusal(gone))
    assert f"Model '{SNAPSHOT}' was not found" in advice
    assert "serves: qwen-max, qwen3-max" in advice and "Set QWEN_MODEL" in advice


def test_the_404_advice_names_qwen_model_for_any_dashscope_base_url(backend, monkeypatch):
    with ModelStudioStandIn(backend.base_url, "scripted", models=["qwen-max"]) as gone:
        monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
        monkeypatch.setenv("DASHSCOPE_API_KEY", gone.api_key)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", gone.base_url)
        assert "Set QWEN_MODEL" in explain(refusal(gone))


def test_max_tokens_above_the_maximum_output_is_refused(standin, backend):
    error = refusal(standin, max_tokens=8193)
    assert (
        error.status_code == 400
        and error.body["message"] == "Range of max_completion_tokens should be [1, 8192]"
    )
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, max_tokens=8192)
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, max_tokens=5)
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)  # the maximum by default
    assert [body["max_tokens"] for body in backend.requests] == [8192, 5, 8192]


def test_the_old_max_tokens_name_is_refused_and_the_new_one_reaches_the_backend(standin, backend):
    plain = openai.OpenAI(base_url=standin.base_url, api_key=standin.api_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        plain.chat.completions.create(model=SNAPSHOT, messages=HI, max_tokens=5)
    assert "max_completion_tokens" in caught.value.body["message"]
    assert backend.requests == []  # refused before anything was generated
    plain.chat.completions.create(model=SNAPSHOT, messages=HI, max_completion_tokens=5)
    with pytest.raises(openai.BadRequestError):
        plain.chat.completions.create(model=SNAPSHOT, messages=HI, max_completion_tokens=8193)
    assert [body["max_tokens"] for body in backend.requests] == [5]


def test_json_mode_needs_the_word_json_in_the_messages(standin, backend):
    error = refusal(standin, response_format={"type": "json_object"})
    assert error.status_code == 400
    assert error.body["message"] == (
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'."
    )
    asked = [{"role": "system", "content": "Answer in JSON."}, *HI]
    client(standin).chat.completions.create(
        model=SNAPSHOT, messages=asked, response_format={"type": "json_object"}
    )
    assert backend.requests[0]["response_format"] == {"type": "json_object"}


def test_strict_json_schema_is_not_offered(standin, backend):
    schema = {"name": "x", "schema": {"type": "object"}, "strict": True}
    error = refusal(standin, response_format={"type": "json_schema", "json_schema": schema})
    assert error.status_code == 400 and "json_schema" in error.body["message"]
    assert backend.requests == []


def test_tool_choice_takes_auto_none_or_a_named_function(standin, backend):
    assert refusal(standin, tools=[TOOL], tool_choice="required").status_code == 400
    other = {"type": "function", "function": {"name": "subtract"}}
    assert refusal(standin, tools=[TOOL], tool_choice=other).status_code == 400
    named = {"type": "function", "function": {"name": "add"}}
    for choice in ("auto", "none", named):
        client(standin).chat.completions.create(
            model=SNAPSHOT, messages=HI, tools=[TOOL], tool_choice=choice
        )
    assert [b["tool_choice"] for b in backend.requests] == ["auto", "none", "required"]


def test_parallel_tool_calls_default_to_false(standin, backend):
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, tools=[TOOL])
    client(standin).chat.completions.create(
        model=SNAPSHOT, messages=HI, tools=[TOOL], parallel_tool_calls=True
    )
    assert [b["parallel_tool_calls"] for b in backend.requests] == [False, True]


def test_no_logprobs_for_qwen_max(backend, clock):
    with ModelStudioStandIn(backend.base_url, "scripted", clock=clock) as strict:
        assert refusal(strict, logprobs=True, top_logprobs=2).status_code == 400
    with ModelStudioStandIn(backend.base_url, "scripted", strict=False) as lenient:
        response = client(lenient).chat.completions.create(
            model=SNAPSHOT, messages=HI, logprobs=True
        )
    assert response.choices[0].logprobs is None and "logprobs" not in backend.requests[0]


def test_n_must_be_1(standin, backend):
    assert refusal(standin, n=2).status_code == 400
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, n=1)
    assert len(backend.requests) == 1


@pytest.mark.parametrize(("name", "value"), [("temperature", 2.0), ("top_p", 0.0), ("top_p", 1.5)])
def test_sampling_values_out_of_range_are_refused(standin, name, value):
    assert refusal(standin, **{name: value}).status_code == 400


def test_undocumented_parameters_are_dropped(standin, backend):
    client(standin).chat.completions.create(
        model=SNAPSHOT, messages=HI, extra_body={"min_p": 0.1, "top_k": 5}
    )
    assert "min_p" not in backend.requests[0] and backend.requests[0]["top_k"] == 5
    assert standin.requests[0]["dropped"] == ["min_p"]


def test_requests_per_minute(standin, backend, clock):
    standin.limits[SNAPSHOT].rpm = 2
    for _ in range(2):
        client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)
    error = refusal(standin)
    assert error.status_code == 429
    assert error.body["message"] == "Requests rate limit exceeded, please try again later."
    assert len(backend.requests) == 2 and standin.refusals == {(429, "limit_requests"): 1}
    clock.now += 60.5  # the window slides: a minute later it answers again
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)
    assert len(backend.requests) == 3


def test_tokens_per_minute(standin, clock):
    standin.limits[SNAPSHOT].tpm = 15  # the scripted answer uses 10 tokens
    for _ in range(2):
        client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)
    error = refusal(standin)
    assert error.status_code == 429
    assert error.body["message"] == "Allocated quota exceeded, please increase your quota limit."
    clock.now += 61
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)


def test_the_batch_api_runs_every_line_on_the_backend_outside_the_rate_limit(
    standin, backend, tmp_path
):
    from tests.test_batch import requests_for, round_trip
    from utils.evals import read_batch_output, write_batch_file

    path = write_batch_file(
        requests_for(["one", "two"] * 40, model="qwen-max"), tmp_path / "in.jsonl"
    )
    batch = round_trip(client(standin), path)  # 80 lines: more than a minute's 60 requests
    assert (batch.status, batch.request_counts.completed) == ("completed", 80)
    output = tmp_path / "out.jsonl"
    client(standin).files.content(batch.output_file_id).write_to_file(output)
    assert len(read_batch_output(output)) == 80 and len(backend.requests) == 80
    with pytest.raises(openai.AuthenticationError):  # the key is checked here too
        client(standin, key="sk-wrong").batches.retrieve(batch.id)


def test_limits_are_per_model(standin):
    standin.limits[SNAPSHOT].rpm = 1
    client(standin).chat.completions.create(model=SNAPSHOT, messages=HI)
    client(standin).chat.completions.create(model="qwen-max", messages=HI)  # 600 a minute


def test_per_second_limit_and_retry_after(backend, clock):
    with ModelStudioStandIn(
        backend.base_url, "scripted", clock=clock, per_second=True, retry_after=2
    ) as burst:
        burst.limits[SNAPSHOT].rpm = 120  # two a second
        for _ in range(2):
            client(burst).chat.completions.create(model=SNAPSHOT, messages=HI)
        error = refusal(burst)
        assert error.status_code == 429 and error.body["message"].startswith(
            "Request rate increased too quickly"
        )
        assert error.response.headers["retry-after"] == "2"
        clock.now += 1.5
        client(burst).chat.completions.create(model=SNAPSHOT, messages=HI)


def test_no_retry_after_by_default(standin):
    standin.limits[SNAPSHOT].rpm = 0
    assert "retry-after" not in refusal(standin).response.headers


# --- against the real local model ---------------------------------------------------------


@pytest.fixture(scope="module")
def live(local_settings):
    with ModelStudioStandIn(local_settings.base_url, local_settings.model) as server:
        yield server


def test_a_prompt_longer_than_the_context_window_is_refused(live):
    long = [{"role": "user", "content": "hello " * 40_000}]  # about 40,000 tokens
    error = refusal(live, messages=long, max_tokens=1)
    assert error.status_code == 400
    assert error.body["message"] == "Range of input length should be [1, 32768]"


def test_a_stream_ends_with_a_usage_chunk_only_when_asked(live):
    chunks = list(
        client(live).chat.completions.create(
            model=SNAPSHOT, messages=HI, max_tokens=4, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1]) and all(c.model == SNAPSHOT for c in chunks)
    plain = list(
        client(live).chat.completions.create(
            model=SNAPSHOT, messages=HI, max_tokens=4, temperature=0, stream=True
        )
    )
    assert all(c.usage is None for c in plain) and all(c.choices for c in plain)


def test_cached_tokens_count_a_reused_prefix_from_256_tokens(live):
    system = {"role": "system", "content": "You answer in one short sentence. " * 40}  # ~300 tokens
    asked = [system, {"role": "user", "content": "What is 2 + 2?"}]
    usages = [
        client(live).chat.completions.create(model=SNAPSHOT, messages=asked, max_tokens=2).usage
        for _ in range(2)
    ]
    assert usages[0].prompt_tokens > IMPLICIT_CACHE_MINIMUM
    assert usages[1].prompt_tokens_details.cached_tokens >= IMPLICIT_CACHE_MINIMUM
    short = client(live).chat.completions.create(model=SNAPSHOT, messages=HI, max_tokens=2)
    assert short.usage.prompt_tokens_details.cached_tokens == 0


def test_partial_mode_answers_only_the_continuation(live, local_settings):
    prefix = "Roses are red,"
    messages = [
        {"role": "user", "content": "Write a poem."},
        {"role": "assistant", "content": prefix},
    ]
    options = {"max_tokens": 8, "temperature": 0, "seed": 1}
    direct = openai.OpenAI(base_url=local_settings.base_url, api_key="local", max_retries=0)
    whole = direct.chat.completions.create(model=local_settings.model, messages=messages, **options)
    partial = [messages[0], {**messages[1], "partial": True}]
    answer = client(live).chat.completions.create(model=SNAPSHOT, messages=partial, **options)
    assert whole.choices[0].message.content == prefix + answer.choices[0].message.content


def test_a_stream_the_model_breaks_off_is_broken_off_for_the_client():
    with (
        FlakyStreamServer(["9.8", " is", " larger."], drop_after=2) as cut,
        ModelStudioStandIn(cut.base_url, "flaky") as standin,
    ):
        stream = client(standin).chat.completions.create(model=SNAPSHOT, messages=HI, stream=True)
        pieces = []
        with pytest.raises(openai.APIError):
            for chunk in stream:
                pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == "9.8 is"


def test_a_client_that_gives_up_stops_the_models_work():
    """A timed-out client retries; the abandoned generation must not keep the model busy."""
    abandoned = threading.Event()

    class Slow(LoopbackAPI):
        methods = ("POST",)

        def handle(self, exchange):
            for _ in range(100):  # a long generation, watching its caller
                if exchange.client_gone():
                    abandoned.set()
                    return
                time.sleep(0.05)
            exchange.send(JSONResponse(200, completion("late")))

    with Slow() as backend, ModelStudioStandIn(backend.base_url, "slow") as standin:
        impatient = openai.OpenAI(
            base_url=standin.base_url, api_key=standin.api_key, max_retries=0, timeout=0.5
        )
        with pytest.raises(openai.APITimeoutError):
            impatient.chat.completions.create(model=SNAPSHOT, messages=HI)
        assert abandoned.wait(3.0)

"""utils.evals.batch and utils.loopback.batch: Batch-API files and a round trip through the OpenAI SDK.

The loopback Batch API forwards every line to a real server (a scripted one that counts what
it receives, and the suite's local model), so the results file holds real answers.
"""

import time

import openai
import pytest

from utils import get_client
from utils.evals import batch_model, format_mcq, read_batch_output, write_batch_file
from utils.loopback.batch import DONE, BatchInputError, LocalBatchAPI, parse_batch_lines
from utils.loopback.scripted import scripted_servers
from utils.settings import Secret, Settings


@pytest.fixture
def scripted_api():
    with scripted_servers() as make:
        yield make


def requests_for(texts, model="scripted"):
    return [{"model": model, "messages": [{"role": "user", "content": t}], "temperature": 0}
            for t in texts]  # fmt: skip


def round_trip(client: openai.OpenAI, path, patience: float = 120.0):
    """Upload, create, poll until done; return the batch."""
    batch_file = client.files.create(file=path, purpose="batch")
    batch = client.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    deadline = time.monotonic() + patience
    while batch.status not in DONE and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = client.batches.retrieve(batch.id)
    return batch


def test_a_batch_runs_every_line_upstream_and_the_results_come_back(scripted_api, tmp_path):
    upstream = scripted_api()
    path = write_batch_file(requests_for(["one", "FAIL this", "three"]), tmp_path / "in.jsonl")
    with LocalBatchAPI(upstream.base_url) as batch_api:
        client = openai.OpenAI(base_url=batch_api.base_url, api_key="unused", max_retries=0)
        batch = round_trip(client, path)
        assert batch.status == "completed"
        assert (batch.request_counts.total, batch.request_counts.completed,
                batch.request_counts.failed) == (3, 2, 1)  # fmt: skip
        output = tmp_path / "out.jsonl"
        client.files.content(batch.output_file_id).write_to_file(output)
        errors = tmp_path / "errors.jsonl"
        client.files.content(batch.error_file_id).write_to_file(errors)
    assert upstream.hits == 3  # every line really reached the model server, once
    answers = read_batch_output(output)
    assert {key: body["choices"][0]["message"]["content"] for key, body in answers.items()} == {
        "request-0": "echo: one",
        "request-2": "echo: three",
    }
    assert read_batch_output(errors) == {"request-1": None}  # the 400, in the error file


def test_an_invalid_input_file_fails_the_batch_before_any_call(scripted_api, tmp_path):
    upstream = scripted_api()
    path = tmp_path / "in.jsonl"
    line = '{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    path.write_text(line * 2)  # the same custom_id twice
    with LocalBatchAPI(upstream.base_url) as batch_api:
        client = openai.OpenAI(base_url=batch_api.base_url, api_key="unused", max_retries=0)
        batch = round_trip(client, path)
        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch_does_not_exist")
        with pytest.raises(openai.BadRequestError, match="only"):
            client.batches.create(input_file_id=client.files.create(file=path, purpose="batch").id,
                                  endpoint="/v1/embeddings", completion_window="24h")  # fmt: skip
    assert batch.status == "failed" and "repeated" in batch.errors.data[0].message
    assert upstream.hits == 0


@pytest.mark.parametrize(
    "text, problem",
    [
        ("not json\n", "not JSON"),
        ('{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}', "POST"),
        ('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions"}', "'body'"),
        ("\n\n", "no requests"),
    ],
)
def test_batch_lines_are_checked_like_a_real_batch_api(text, problem):
    with pytest.raises(BatchInputError, match=problem):
        parse_batch_lines(text.encode(), "/v1/chat/completions")


def test_the_local_model_answers_a_batch(local_settings, tmp_path):
    requests = [
        {"model": local_settings.model, "messages": format_mcq(q, ["yes", "no"]),
         "max_tokens": 8, "temperature": 0}
        for q in ("Is water wet?", "Is fire cold?")
    ]  # fmt: skip
    path = write_batch_file(requests, tmp_path / "in.jsonl")
    with LocalBatchAPI(local_settings.base_url) as batch_api:
        client = get_client(local_settings, base_url=batch_api.base_url)
        batch = round_trip(client, path)
        output = client.files.content(batch.output_file_id).text
    assert batch.status == "completed" and batch.request_counts.completed == 2
    (tmp_path / "out.jsonl").write_text(output)
    answers = read_batch_output(tmp_path / "out.jsonl")
    assert set(answers) == {"request-0", "request-1"}
    for body in answers.values():
        assert body["model"] and body["choices"][0]["message"]["content"]
        assert 0 < body["usage"]["completion_tokens"] <= 8


def settings_for(provider, model):
    return Settings(provider, "http://127.0.0.1:1/v1", model, Secret("k"), "test")


def test_the_batch_model_follows_model_studios_list():
    assert batch_model(settings_for("local", "smollm2-135m-instruct"))[0] == "smollm2-135m-instruct"
    model, why = batch_model(settings_for("dashscope", "qwen-max-2025-01-25"))
    assert model == "qwen-max" and "snapshot" in why
    assert batch_model(settings_for("dashscope", "qwen-plus"))[0] == "qwen-plus"
    assert batch_model(settings_for("dashscope", "qwen3-coder"))[0] == "qwen3-coder"

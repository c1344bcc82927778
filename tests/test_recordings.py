"""Record and replay: answers recorded from the Model Studio stand-in into a temporary folder,
found again by their request, labelled with their provenance, and never committed."""

import json
from importlib import metadata

import openai
import pytest

from tests.model_studio_standin import ModelStudioStandIn
from tools.record import RecordingProxy, assemble
from utils.clients import DashScopeClient
from utils.loopback.flaky import FlakyStreamServer
from utils.loopback.scripted import completion, scripted_servers
from utils.recordings import (
    END_OF_ANSWER,
    MODEL_STUDIO_HOSTS,
    RecordingError,
    answer_block,
    beside,
    find,
    published_answer,
    record_call,
    recorded_answer,
    recorded_dir,
    region_of,
    request_key,
    save,
    show_answer,
    shown_answers,
)
from utils.settings import DASHSCOPE_BASE_URLS

SNAPSHOT = "qwen-max-2025-01-25"
REQUEST = {
    "model": SNAPSHOT,
    "messages": [{"role": "user", "content": "9.11 or 9.8?"}],
    "max_tokens": 8,
}


@pytest.fixture
def standin():
    with scripted_servers() as make:
        backend = make(lambda body: (200, completion("9.8 is larger.")))
        with ModelStudioStandIn(backend.base_url, "scripted") as server:
            yield server


def client(server) -> openai.OpenAI:
    return DashScopeClient(base_url=server.base_url, api_key=server.api_key, max_retries=0)


def test_the_key_is_the_request_not_its_delivery():
    assert request_key(REQUEST) == request_key({**REQUEST, "stream": True})
    assert request_key(REQUEST) == request_key(dict(reversed(REQUEST.items())))
    assert request_key(REQUEST) != request_key({**REQUEST, "max_tokens": 9})
    assert request_key(REQUEST) != request_key({**REQUEST, "model": "qwen-max"})


def test_only_model_studio_hosts_have_a_region():
    assert region_of(DASHSCOPE_BASE_URLS["intl"]) == "intl"
    assert region_of(DASHSCOPE_BASE_URLS["cn"]) == "cn"
    assert region_of("http://127.0.0.1:8000/compatible-mode/v1") is None
    assert region_of("https://dashscope-intl.aliyuncs.com.example.org/v1") is None


def test_record_from_the_standin_and_replay(standin, tmp_path):
    recorded = record_call(client(standin), REQUEST, folder=tmp_path)
    assert recorded.path == tmp_path / SNAPSHOT / f"{request_key(REQUEST)}.json"
    again = find(REQUEST, folder=tmp_path)
    assert again.text == recorded.text == "9.8 is larger."
    assert again.model == SNAPSHOT and again.region is None
    assert again.endpoint == standin.base_url.split("/")[2]
    assert again.sdk_version == metadata.version("openai")
    assert len(again.recorded_on) == 10 and again.request == REQUEST
    assert "not Model Studio" in again.label()
    assert standin.api_key not in recorded.path.read_text()


def test_no_recording_means_none(tmp_path):
    assert find(REQUEST, folder=tmp_path) is None
    assert recorded_answer(REQUEST, folder=tmp_path) is None


def test_the_recorded_answer_is_found_for_the_live_models_request(standin, tmp_path):
    record_call(client(standin), REQUEST, folder=tmp_path)
    local_request = {**REQUEST, "model": "smollm2-135m-instruct"}
    assert recorded_answer(local_request, folder=tmp_path).text == "9.8 is larger."
    shown = beside(local_request, "9.11", "smollm2-135m-instruct", folder=tmp_path)
    assert shown.index("Recorded: qwen-max-2025-01-25 on 127.0.0.1") < shown.index("9.8 is larger.")
    assert (
        shown.index("9.8 is larger.")
        < shown.index("Live: smollm2-135m-instruct")
        < shown.index("9.11")
    )


def test_beside_says_when_nothing_was_recorded(tmp_path):
    shown = beside(REQUEST, "live text", "smollm2-135m-instruct", folder=tmp_path)
    assert "no recording yet of qwen-max-2025-01-25" in shown and "live text" in shown


def test_a_standin_answer_cannot_be_saved_where_recordings_are_committed(standin):
    before = sorted(recorded_dir().rglob("*.json"))
    with pytest.raises(RecordingError, match="not Model Studio"):
        save(REQUEST, completion("x"), standin.base_url)
    with pytest.raises(RecordingError):
        record_call(client(standin), REQUEST)
    with pytest.raises(RecordingError):
        RecordingProxy(standin.base_url)
    assert sorted(recorded_dir().rglob("*.json")) == before


def test_every_committed_recording_came_from_model_studio():
    for path in recorded_dir().rglob("*.json"):
        record = json.loads(path.read_text())
        assert record["region"] in ("intl", "cn"), path
        assert MODEL_STUDIO_HOSTS.get(record["endpoint"]) == record["region"], path
        assert path.parent.name == record["model"] == record["request"]["model"], path
        assert path.stem == request_key(record["request"]), path
        assert {"recorded_on", "sdk_version", "response"} <= set(record), path


def test_the_proxy_records_what_a_notebook_asks(standin, tmp_path):
    with RecordingProxy(standin.base_url, folder=tmp_path) as proxy:
        through = DashScopeClient(base_url=proxy.base_url, api_key=standin.api_key, max_retries=0)
        answer = through.chat.completions.create(**REQUEST)
        assert SNAPSHOT in [m.id for m in through.models.list()]
        with pytest.raises(openai.NotFoundError):  # errors pass through and are not recorded
            through.chat.completions.create(**{**REQUEST, "model": "qwen-maxx"})
    assert answer.choices[0].message.content == "9.8 is larger."
    assert len(proxy.recorded) == 1 and find(REQUEST, folder=tmp_path).text == "9.8 is larger."


def test_the_proxy_records_a_whole_stream_and_not_a_cut_one(tmp_path):
    usage = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
    with (
        FlakyStreamServer(["9.8", " is", " larger."], usage=usage) as whole,
        ModelStudioStandIn(whole.base_url, "flaky") as standin,
        RecordingProxy(standin.base_url, folder=tmp_path) as proxy,
    ):
        through = DashScopeClient(base_url=proxy.base_url, api_key=standin.api_key, max_retries=0)
        stream = through.chat.completions.create(
            **REQUEST, stream=True, stream_options={"include_usage": True}
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    recorded = find(REQUEST, folder=tmp_path)
    assert text == recorded.text == "9.8 is larger."
    assert recorded.response["usage"]["completion_tokens"] == 3
    with (
        FlakyStreamServer(["9.8", " is", " larger."], drop_after=2) as cut,
        ModelStudioStandIn(cut.base_url, "flaky") as standin,
        RecordingProxy(standin.base_url, folder=tmp_path / "cut") as proxy,
    ):
        through = DashScopeClient(base_url=proxy.base_url, api_key=standin.api_key, max_retries=0)
        with pytest.raises(openai.APIError):
            list(through.chat.completions.create(**REQUEST, stream=True))
    assert proxy.recorded == [] and find(REQUEST, folder=tmp_path / "cut") is None


def test_assemble_joins_deltas():
    chunks = [
        {"model": "m", "choices": [{"delta": {"role": "assistant", "content": "a"}}]},
        {"model": "m", "choices": [{"delta": {"content": "b"}, "finish_reason": "stop"}]},
        {"model": "m", "choices": [], "usage": {"total_tokens": 3}},
    ]
    answer = assemble(chunks)
    assert answer["choices"][0]["message"]["content"] == "ab"
    assert answer["choices"][0]["finish_reason"] == "stop" and answer["usage"]["total_tokens"] == 3


def test_make_record_refuses_anything_but_model_studio(standin, monkeypatch, capsys):
    from tools import record

    monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
    monkeypatch.setenv("DASHSCOPE_API_KEY", standin.api_key)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", standin.base_url)
    assert record.main([]) == 1
    out = capsys.readouterr().out
    assert "needs a DashScope key" in out and standin.api_key not in out


def test_make_record_runs_a_notebook_through_the_proxy(standin, tmp_path, monkeypatch):
    import nbformat

    from tools.record import run_notebook

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from utils import get_client, load_settings\n"
            "settings = load_settings()\n"
            f"request = {REQUEST!r}\n"
            "print(get_client(settings).chat.completions.create(**request).choices[0].message.content)"
        )
    ]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook, path)
    with RecordingProxy(standin.base_url, folder=tmp_path / "recorded") as proxy:
        monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
        monkeypatch.setenv("DASHSCOPE_API_KEY", standin.api_key)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", proxy.base_url)
        run_notebook(path)
    assert len(proxy.recorded) == 1
    assert find(REQUEST, folder=tmp_path / "recorded").text == "9.8 is larger."
    assert nbformat.read(path, as_version=4).cells[0].outputs == []  # the notebook is not rewritten


# Published answers: shown like recordings, each byte-equal to its bundled file.

PUBLISHED = published_answer("misguided_attention", "trolley_problem_easy", sample=1)


def test_a_published_answer_carries_its_provenance():
    answer = PUBLISHED
    assert answer.model == "qwen-max" and answer.sample == 1 and answer.samples == 3
    assert answer.file == "qwen25max_outputs/misguided_attention/output_queries_qwenmax.json.xz"
    assert "five dead people" in answer.prompt and answer.text
    label = answer.label()
    for part in ("MisguidedAttention", "7ae31ba", "CC0", "2025-02-03", "temperature 0.7"):
        assert part in label
    assert "alias" in label and "qwen-max-2025-01-25" in label  # the alias caveat
    rival = published_answer("misguided_attention", "trolley_problem_easy", model="dsv3")
    assert rival.model == "DeepSeek-V3" and "alias" not in rival.label()


def test_a_pfgen_bench_answer_is_the_exact_snapshot():
    answer = published_answer("pfgen_bench", "Q01", sample=3)
    assert answer.model == "qwen-max-2025-01-25" and answer.samples == 10
    assert answer.file == "qwen25max_outputs/pfgen_bench/trials.jsonl.xz"
    assert "temperature 0.0" in answer.label() and "alias" not in answer.label()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("misguided_attention", "no_such_prompt"), "no published answer"),
        (("misguided_attention", "trolley_problem_easy", 3), r"samples 0\.\.2"),
        (("misguided_attention", "trolley_problem_easy", 0, "gpt-5"), "known"),
        (("misguided_attention", "new_years_monty_hall", 0, "sonnet37"), "no answer"),
        (("pfgen_bench", "Q51"), "no published answer"),
        (("pfgen_bench", "Q01", 0, "qwen-max"), "only for qwen-max-2025-01-25"),
        (("arena_hard", "x"), "the course has"),
    ],
)
def test_asking_for_an_answer_that_is_not_there_says_so(args, message):
    with pytest.raises(ValueError, match=message):
        published_answer(*args)


def test_an_answer_block_is_found_again_whole():
    pfgen = published_answer("pfgen_bench", "Q02", sample=0)
    shown = beside(REQUEST, "live text", "smollm2-135m-instruct", published=[PUBLISHED, pfgen])
    found = shown_answers(shown)
    assert [(a["model"], a["prompt"], a["sample"]) for a in found] == [
        ("qwen-max", "trolley_problem_easy", 1),
        ("qwen-max-2025-01-25", "Q02", 0),
    ]
    assert found[0]["text"] == PUBLISHED.text and found[1]["text"] == pfgen.text
    assert "no recording yet" not in shown
    assert shown.index(END_OF_ANSWER) < shown.index("Live: smollm2") < shown.index("live text")
    assert shown_answers(answer_block(PUBLISHED))[0]["file"] == PUBLISHED.file


def test_a_cut_or_malformed_answer_block_is_an_error():
    block = answer_block(PUBLISHED)
    with pytest.raises(ValueError, match="not printed whole"):
        shown_answers(block.replace(PUBLISHED.text[-20:], ""))
    with pytest.raises(ValueError, match="form"):
        shown_answers(block.replace(" chars=", " length="))


def test_show_answer_prints_the_block(capsys):
    show_answer(PUBLISHED)
    assert capsys.readouterr().out == answer_block(PUBLISHED) + "\n"


def test_a_recording_shows_first_and_is_found_like_a_published_answer(standin, tmp_path):
    record_call(client(standin), REQUEST, folder=tmp_path)
    shown = beside(REQUEST, "live", "smollm2", folder=tmp_path, published=PUBLISHED)
    found = shown_answers(shown)
    assert [a["text"] for a in found] == ["9.8 is larger.", PUBLISHED.text]
    assert found[0]["prompt"] == request_key(REQUEST) and found[0]["model"] == SNAPSHOT
    assert "max_tokens 8" in shown  # the recording's sampling is in its label

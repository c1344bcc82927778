"""utils.tools: schemas from functions, the allow-list, validation, and the loop."""

import json
from typing import Annotated, Literal

import httpx
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessage
from pydantic import BaseModel, Field

from utils import get_client
from utils.example_tools import calculator, convert_units, lookup_benchmark
from utils.loopback.scripted import ScriptedAPI, completion, in_order
from utils.tools import (
    ToolBox,
    arguments_model,
    assistant_message,
    model_tool_schema,
    run_tool_loop,
    tool_protocol_errors,
    tool_schema,
)


def area(
    width: Annotated[float, Field(description="Width in metres", gt=0)],
    unit: Literal["m2", "ft2"] = "m2",
    label: Annotated[str, Field(max_length=10)] = "room",
) -> str:
    """Area of a square room.

    Longer text is part of the description too.
    """
    return f"{label}: {width * width} {unit}"


def test_tool_schema_reads_name_docstring_types_and_constraints():
    schema = tool_schema(area)
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == "area"
    assert function["description"].startswith("Area of a square room.")
    assert "Longer text" in function["description"]
    parameters = function["parameters"]
    assert parameters["type"] == "object" and parameters["additionalProperties"] is False
    assert parameters["required"] == ["width"]  # the others have defaults
    width, unit, label = (parameters["properties"][name] for name in ("width", "unit", "label"))
    assert width == {"type": "number", "description": "Width in metres", "exclusiveMinimum": 0}
    assert unit == {"enum": ["m2", "ft2"], "type": "string", "default": "m2"}
    assert label["maxLength"] == 10 and label["default"] == "room"
    assert "title" not in json.dumps(schema)  # pydantic's titles are stripped


def test_every_parameter_needs_a_type_hint_and_the_function_a_docstring():
    def no_hint(x):
        """Doc."""

    def no_doc(x: int):
        pass

    def star(*numbers: float):
        """Doc."""

    with pytest.raises(TypeError, match="parameter 'x' has no type hint"):
        tool_schema(no_hint)
    with pytest.raises(TypeError, match="needs a docstring"):
        tool_schema(no_doc)
    with pytest.raises(TypeError, match=r"\*args"):
        tool_schema(star)


def test_arguments_model_validates_like_the_signature():
    model = arguments_model(area)
    assert model.model_validate({"width": "3"}).width == 3.0  # lax: a numeric string is fine
    for bad in [{}, {"width": 0}, {"width": 2, "unit": "acre"}, {"width": 2, "colour": "red"}]:
        with pytest.raises(ValueError):
            model.model_validate(bad)


def test_model_tool_schema_turns_a_pydantic_model_into_a_tool():
    class BenchmarkScore(BaseModel):
        """One benchmark result."""

        model: str
        score: float

    schema = model_tool_schema(BenchmarkScore)
    assert schema["function"]["name"] == "record_benchmark_score"
    assert schema["function"]["description"] == "One benchmark result."
    assert schema["function"]["parameters"]["required"] == ["model", "score"]
    assert model_tool_schema(BenchmarkScore, name="save")["function"]["name"] == "save"


def test_toolbox_is_an_allow_list():
    toolbox = ToolBox([calculator, lookup_benchmark])
    assert toolbox.names == ["calculator", "lookup_benchmark"]
    assert [s["function"]["name"] for s in toolbox.schemas()] == toolbox.names
    assert toolbox.choose("calculator") == {"type": "function", "function": {"name": "calculator"}}
    with pytest.raises(ValueError, match="unknown tool 'convert_units'"):
        toolbox.choose("convert_units")
    with pytest.raises(ValueError, match="two tools are named"):
        ToolBox([calculator, calculator])


class Recorder:
    """A tool that remembers whether it ran."""

    def __init__(self):
        self.calls = []

    def tool(self, x: int) -> int:
        """Double x."""
        self.calls.append(x)
        return 2 * x


def test_execute_runs_valid_calls_and_returns_json_text():
    recorder = Recorder()
    toolbox = ToolBox([recorder.tool, lookup_benchmark])
    result = toolbox.execute("call_1", "tool", '{"x": 21}')
    assert result.ok and result.content == "42" and recorder.calls == [21]
    assert result.message() == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    looked_up = toolbox.execute(
        "c", "lookup_benchmark", '{"model": "DeepSeek-V3", "benchmark": "MMLU-Pro"}'
    )
    assert json.loads(looked_up.content) == lookup_benchmark("DeepSeek-V3", "MMLU-Pro")


def test_an_unknown_tool_never_runs():
    recorder = Recorder()
    result = ToolBox([recorder.tool]).execute("c", "delete_files", '{"path": "/"}')
    assert result.error == "unknown tool" and not result.ok
    assert "no tool named 'delete_files'" in result.content and "tool" in result.content
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ('{"x": "many"}', "x: Input should be a valid integer"),
        ("{}", "x: Field required"),
        ('{"x": 1, "y": 2}', "y: Extra inputs are not permitted"),
        ('{"x": 1', "not valid JSON"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_invalid_arguments_are_reported_and_the_tool_never_runs(arguments, problem):
    recorder = Recorder()
    result = ToolBox([recorder.tool]).execute("c", "tool", arguments)
    assert result.error == "invalid arguments"
    assert problem in result.content and result.content.startswith("Error: invalid arguments")
    assert recorder.calls == []


def test_a_tool_that_raises_becomes_an_error_message():
    def fragile(x: float) -> float:
        """Invert x."""
        return 1 / x

    result = ToolBox([fragile]).execute("c", "fragile", '{"x": 0}')
    assert result.error == "tool raised"
    assert result.content == "Error: fragile failed: ZeroDivisionError: float division by zero"


def test_execute_all_keeps_order_and_ids_for_sdk_objects_and_dicts():
    toolbox = ToolBox([calculator])
    turn = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}},
                {"id": "b", "type": "function", "function": {"name": "nope", "arguments": "{}"}},
            ],
        }
    )  # fmt: skip
    results = toolbox.execute_all(turn.tool_calls)
    assert [(r.call_id, r.ok) for r in results] == [("a", True), ("b", False)]
    as_dicts = toolbox.execute_all([call.model_dump() for call in turn.tool_calls])
    assert [r.content for r in as_dicts] == [r.content for r in results]


def test_assistant_message_sends_empty_text_not_none():
    turn = ChatCompletionMessage.model_validate(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        }
    )  # fmt: skip
    message = assistant_message(turn)
    assert message["content"] == ""
    assert message["tool_calls"] == [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]
    plain = assistant_message(ChatCompletionMessage(role="assistant", content="Hi"))
    assert plain == {"role": "assistant", "content": "Hi"}


# ── the loop against canned servers: every error path, deterministically ─────────────
def tool_call_completion(calls: list[tuple[str, str, str]]) -> dict:
    """A completion whose message asks for ``calls`` = [(id, name, arguments), ...]."""
    tool_calls = [
        {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls
    ]
    return completion(None, finish_reason="tool_calls", tool_calls=tool_calls)


def canned_client(server) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def test_loop_survives_bad_calls_and_stops_at_the_step_limit(fake_api):
    recorder = Recorder()

    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("disk on fire")

    calls = [
        ("c1", "delete_files", '{"path": "/"}'),
        ("c2", "broken", '{"x": 1}'),
        ("c3", "tool", '{"x": "lots"}'),
        ("c4", "tool", '{"x": 4}'),
    ]
    server = fake_api(200, tool_call_completion(calls))
    toolbox = ToolBox([recorder.tool, broken])
    run = run_tool_loop(
        canned_client(server), "m", [{"role": "user", "content": "go"}], toolbox, max_steps=3
    )
    assert run.stopped == "step limit" and run.answer is None
    assert len(run.steps) == 3 and server.hits == 3
    errors = [result.error for result in run.steps[0].results]
    assert errors == ["unknown tool", "tool raised", "invalid arguments", None]
    assert recorder.calls == [4, 4, 4]  # only the valid call ran, once per step
    tool_messages = [m for m in run.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["c1", "c2", "c3", "c4"] * 3
    assert "RuntimeError: disk on fire" in tool_messages[1]["content"]
    assert "stopped: step limit after 3 step(s)" in run.report()


def test_loop_returns_the_first_text_answer(fake_api):
    body = tool_call_completion([])
    body["choices"][0]["message"] = {"role": "assistant", "content": "It is 42."}
    body["choices"][0]["finish_reason"] = "stop"
    server = fake_api(200, body)
    run = run_tool_loop(canned_client(server), "m", [], ToolBox([calculator]), max_steps=5)
    assert run.stopped == "answered" and run.answer == "It is 42."
    assert len(run.steps) == 1 and run.results == [] and server.hits == 1
    assert "answer: 'It is 42.'" in run.report()


def test_loop_needs_at_least_one_step():
    with pytest.raises(ValueError, match="at least 1"):
        run_tool_loop(None, "m", [], ToolBox([calculator]), max_steps=0)


# ── the loop against scripted turns on a real loopback server ─────────────────────────
def test_loop_answers_parallel_calls_by_id_and_keeps_the_callers_list():
    turns = [
        tool_call_completion([("a", "calculator", '{"expression": "1 + 1"}'), ("b", "calculator", '{"expression": "2 * 3"}')]),
        tool_call_completion([("c", "calculator", '{"expression": "2 + 6"}')]),
        completion("It is 8."),
    ]  # fmt: skip
    question = [{"role": "user", "content": "go"}]
    with ScriptedAPI(in_order(turns)) as server:
        run = run_tool_loop(server.sync_client(), server.model, question, ToolBox([calculator]))
    assert run.stopped == "answered" and run.answer == "It is 8." and len(run.steps) == 3
    assert question == [{"role": "user", "content": "go"}]
    assert [(r.call_id, r.content) for r in run.results] == [("a", "2"), ("b", "6"), ("c", "8")]
    assert [m["role"] for m in server.requests[1]["messages"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
    ]
    assert all(body["tools"] == ToolBox([calculator]).schemas() for body in server.requests)
    assert [body["tool_choice"] for body in server.requests] == ["auto"] * 3
    assert tool_protocol_errors(run.messages) == []


def test_loop_forces_only_the_first_request_unless_told_otherwise():
    forced = ToolBox([calculator]).choose("calculator")
    turns = [tool_call_completion([("a", "calculator", '{"expression": "1"}')]), completion("1.")]
    with ScriptedAPI(in_order(turns)) as server:
        run_tool_loop(
            server.sync_client(), server.model, [], ToolBox([calculator]), tool_choice=forced
        )
    assert [body["tool_choice"] for body in server.requests] == [forced, "auto"]


def test_tool_protocol_errors_names_unanswered_and_unknown_ids():
    ask = {"role": "assistant", "content": "", "tool_calls": [{"id": "a"}, {"id": "b"}]}
    answer_a = {"role": "tool", "tool_call_id": "a", "content": "1"}
    answer_b = {"role": "tool", "tool_call_id": "b", "content": "2"}
    user = {"role": "user", "content": "go"}
    assert tool_protocol_errors([user, ask, answer_a, answer_b, user]) == []
    assert tool_protocol_errors([user, ask, answer_a]) == [
        "tool call 'b' (message 1) has no tool message"
    ]
    assert tool_protocol_errors([user, ask, answer_a, user, answer_b]) == [
        "tool call 'b' (message 1) has no tool message",
        "message 4: no open tool call has the id 'b'",
    ]
    assert tool_protocol_errors([user, answer_a]) == ["message 1: no open tool call has the id 'a'"]
    assert tool_protocol_errors([user, ask, answer_a, answer_a, answer_b]) == [
        "message 3: no open tool call has the id 'a'"
    ]


# ── the real local server (SmolLM2 behind llama.cpp's server) ──────────────────────────
QUESTION = [{"role": "user", "content": "What is 37 times 41?"}]


def server_root(settings) -> str:
    return settings.base_url.removesuffix("/v1")


@pytest.fixture(scope="module")
def smollm2_template(local_settings):
    """The local server's template capabilities; skip when a tool-capable model is served."""
    caps = httpx.get(f"{server_root(local_settings)}/props", timeout=30).json()[
        "chat_template_caps"
    ]
    if caps["supports_tools"]:
        pytest.skip("the served model's template supports tools; these tests are about SmolLM2's")
    return caps


def test_real_server_template_leaves_the_tools_out_of_the_prompt(local_settings, smollm2_template):
    toolbox = ToolBox([calculator, convert_units])
    asked = {"messages": QUESTION, "tools": toolbox.schemas()}
    prompt = httpx.post(f"{server_root(local_settings)}/apply-template", json=asked, timeout=30)
    assert "37 times 41" in prompt.json()["prompt"]
    assert not [name for name in toolbox.names if name in prompt.json()["prompt"]]
    assert smollm2_template["supports_parallel_tool_calls"] is False


@pytest.mark.parametrize("tool_choice", ["auto", "none", "required", "named"])
def test_real_server_never_returns_a_tool_call(local_settings, smollm2_template, tool_choice):
    toolbox = ToolBox([calculator])
    run = run_tool_loop(
        get_client(local_settings),
        local_settings.model,
        QUESTION,
        toolbox,
        tool_choice=toolbox.choose("calculator") if tool_choice == "named" else tool_choice,
        max_steps=2,
        max_tokens=8,
        temperature=0,
    )
    assert run.stopped == "answered" and len(run.steps) == 1 and run.results == []


def test_real_server_accepts_the_conversation_the_loop_builds(local_settings):
    turns = [tool_call_completion([("call_1", "calculator", '{"expression": "37 * 41"}')]), completion("1517.")]  # fmt: skip
    with ScriptedAPI(in_order(turns)) as server:
        scripted = run_tool_loop(
            server.sync_client(), server.model, QUESTION, ToolBox([calculator])
        )
    conversation = scripted.messages[:-1]  # user, assistant with tool_calls, tool
    assert [m["role"] for m in conversation] == ["user", "assistant", "tool"]
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model, messages=conversation, max_tokens=4, temperature=0
    )
    assert response.choices[0].finish_reason in ("stop", "length")

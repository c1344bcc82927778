"""Self-checks and hints for notebook 04 (structured output and tool calling)."""

from __future__ import annotations

import functools
import inspect
import json
import math
from collections.abc import Callable

from pydantic import BaseModel

from utils.example_tools import calculator, convert_units, lookup_benchmark
from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.loopback.scripted import ScriptedAPI, completion, in_order, tool_call
from utils.structured import validate_json
from utils.tools import ToolBox, run_tool_loop, tool_protocol_errors, tool_schema

# Replies to validate: (JSON text, should it be accepted?, why).
REPLIES = [
    ('{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro", "score": 76.1}', True, "a normal result"),
    ('{"model": "Qwen2.5-Max", "benchmark": "Arena-Hard", "score": null}', True, "a blank is null"),
    ('{"model": "GPT-4o-0513", "benchmark": "GPQA-Diamond", "score": 100}', True, "100 is allowed"),
    (
        '{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro", "score": 176.1}',
        False,
        "176.1 is above 100",
    ),
    ('{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro", "score": -1}', False, "-1 is below 0"),
    ('{"model": "", "benchmark": "MMLU-Pro", "score": 76.1}', False, "the model name is empty"),
    (
        '{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro"}',
        False,
        "score is missing (null is how to say 'unknown')",
    ),
    (
        '{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro", "score": "high"}',
        False,
        "'high' is not a number",
    ),
]

QUESTION = "How many points higher is Qwen2.5-Max's MMLU-Pro score than DeepSeek-V3's?"
SCRIPTED_ANSWER = "Qwen2.5-Max is 0.2 points higher on MMLU-Pro (76.1 against 75.9)."
CONSTRAINTS = {"enum", "const", "pattern", "format", "minLength", "maxLength", "minimum",
               "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}  # fmt: skip

hint = hint_printer(
    {
        1: [
            "Each field is `name: type = Field(...)`. A field with no default is required.",
            "A number that may be null is `float | None`. Ranges and lengths go in Field: "
            "`Field(ge=0, le=100)`, `Field(min_length=1)`.",
            "Go through the replies the check lists one rubric at a time: for each, which field "
            "must reject it, and which constraint (a type, a bound, a length) says so? A field "
            "that may be null but must be present has a type that admits None and no default.",
        ],
        2: [
            "`tool_schema` needs a type hint on every parameter and a docstring (the description "
            "the model reads).",
            "Hint both parameters as `float`. Dividing by zero raises ZeroDivisionError by "
            "itself, and the ToolBox turns that into an error message for the model.",
        ],
        3: [
            "Start from the loop written out in section 6. Work on a copy of `messages`: the "
            "caller's list must stay as it was.",
            "After each assistant turn, append it (with its tool_calls) and then one `tool` "
            "message per call, each with that call's `tool_call_id`, before the next request. "
            "`toolbox.execute(call.id, call.function.name, call.function.arguments)` validates "
            "and runs one call and never raises.",
            "Count requests, not calls: return the text of the first reply without tool calls, "
            "and None once `max_steps` requests have all asked for tools.",
        ],
        4: [
            "Any small, exact job a model does badly fits: dates, units, a lookup in a table. "
            "Give every parameter `Annotated[type, Field(description=..., ...)]`.",
            "Put at least one limit into the schema (`Literal[...]`, `pattern=`, `max_length=`, "
            "`ge=`/`le=`); refuse what the schema cannot express with `raise ValueError(...)` "
            "and a message that says what to do instead.",
            "`failing_arguments` must pass validation and still make your function raise, e.g. "
            "an end date before the start date. Run `ToolBox([my_tool]).execute('t', "
            "'my_tool', json.dumps(failing_arguments))` to see what the model would read.",
        ],
    }
)


@guarded
def check_schema(schema: type[BaseModel]) -> Check:
    """Exercise 1: ``schema`` accepts the good replies and rejects the bad ones."""
    if not (inspect.isclass(schema) and issubclass(schema, BaseModel)):
        return not_yet("ScoreReport must be a pydantic model: `class ScoreReport(BaseModel): ...`.")
    for reply, accept, why in REPLIES:
        try:
            validate_json(reply, schema)
            accepted, error = True, ""
        except ValueError as problem:
            accepted, error = False, str(problem)
        if accept and not accepted:
            return not_yet(f"you rejected {reply} ({why}): {error}")
        if accepted and not accept:
            return not_yet(f"you accepted {reply}, which should be rejected: {why}.")
    return solved(f"all {len(REPLIES)} replies judged right.")


def _percent_change_output(toolbox: ToolBox, name: str, arguments: str) -> float | str:
    result = toolbox.execute("check", name, arguments)
    return float(result.content) if result.ok else result.content


@guarded
def check_tool(function: Callable) -> Check:
    """Exercise 2: ``percent_change`` is a tool with a schema, right results and safe errors."""
    try:
        schema = tool_schema(function)
    except TypeError as error:
        return not_yet(str(error))
    parameters = schema["function"]["parameters"]
    properties = parameters.get("properties", {})
    if len(properties) != 2:
        return not_yet(
            f"the tool should take two parameters (old, new); it takes {list(properties)}."
        )
    for name, spec in properties.items():
        if spec.get("type") != "number":
            return not_yet(f"parameter {name!r} has schema {spec}; hint it as float.")
    if sorted(parameters.get("required", [])) != sorted(properties):
        return not_yet("both parameters should be required (no defaults).")
    toolbox, name = ToolBox([function]), function.__name__
    old, new = list(properties)
    for (a, b), expected in [((75.9, 76.1), (76.1 - 75.9) / 75.9 * 100), ((200, 150), -25.0)]:
        got = _percent_change_output(toolbox, name, f'{{"{old}": {a}, "{new}": {b}}}')
        if not isinstance(got, float) or not math.isclose(got, expected, rel_tol=1e-9):
            return not_yet(
                f"for {old}={a}, {new}={b} the tool answered {got!r}; expected {expected!r}."
            )
    zero = toolbox.execute("check", name, f'{{"{old}": 0, "{new}": 5}}')
    if zero.ok:
        return not_yet(
            f"for {old}=0 the tool returned {zero.content!r}; it should fail with an error."
        )
    return solved(f"schema, results and the {old}=0 error ({zero.content!r}) are right.")


# ── Exercise 3: the loop, checked against scripted assistant turns ──────────────────────
# Assistant turns written by hand (not a model): what the check's loopback server replies.
LOOKUPS = [
    tool_call("call_a", "lookup_benchmark", '{"model": "Qwen2.5-Max", "benchmark": "MMLU-Pro"}'),
    tool_call("call_b", "lookup_benchmark", '{"model": "DeepSeek-V3", "benchmark": "MMLU-Pro"}'),
]  # fmt: skip
SUBTRACTION = [tool_call("call_c", "calculator", '{"expression": "76.1 - 75.9"}')]
MISTAKES = [
    tool_call("call_x", "delete_files", '{"path": "/"}'),  # not on the allow-list
    tool_call("call_y", "calculator", '{"expr": "1 + 1"}'),  # a parameter it does not take
    tool_call(
        "call_z", "lookup_benchmark", '{"model": "GPT-5", "benchmark": "MMLU-Pro"}'
    ),  # raises
]
FOREVER = [tool_call("call_f", "calculator", '{"expression": "37 * 41"}')]
MAX_REQUESTS = 12  # the check's server refuses more: a loop with no step limit still ends


def strict_replies(script: list[dict]):
    """Reply with ``script`` in order, but answer 400 (like a real API) to a malformed request."""
    next_turn, requests = in_order(script), 0

    def reply(body: dict) -> tuple[int, dict]:
        nonlocal requests
        requests += 1
        problems = tool_protocol_errors(body.get("messages") or [])
        if not body.get("tools"):
            problems.append("send tools=toolbox.schemas() with every request")
        if requests > MAX_REQUESTS:
            problems.append(
                f"{MAX_REQUESTS} requests and no end: does your loop have a step limit?"
            )
        if problems:
            return 400, {"error": {"message": "; ".join(problems), "type": "invalid_request_error"}}
        return next_turn(body)

    return reply


def _run(tool_loop: Callable, script: list[dict], max_steps: int):
    """Run the learner's loop on ``script``; return its answer, the server and the input list."""
    messages = [{"role": "user", "content": QUESTION}]
    toolbox = ToolBox([calculator, lookup_benchmark, convert_units])
    with ScriptedAPI(strict_replies(script)) as server:
        client = server.sync_client(timeout=30)
        answer = tool_loop(client, "scripted", messages, toolbox, max_steps=max_steps)
    return answer, server, messages


def _tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m.get("role") == "tool"]


@guarded
def check_loop(tool_loop: Callable) -> Check:
    """Exercise 3: ``tool_loop`` runs calls, returns errors as messages and stops at the limit."""
    toolbox = ToolBox([calculator, lookup_benchmark, convert_units])
    script = [
        completion(None, "tool_calls", LOOKUPS),
        completion(None, "tool_calls", SUBTRACTION),
        completion(SCRIPTED_ANSWER),
    ]
    answer, server, messages = _run(tool_loop, script, max_steps=4)
    if len(messages) != 1:
        return not_yet("your loop changed the caller's `messages`; work on a copy.")
    if answer != SCRIPTED_ANSWER:
        return not_yet(
            f"the third reply was the answer {SCRIPTED_ANSWER!r}, but your loop returned "
            f"{answer!r} after {server.hits} request(s)."
        )
    sent = [(m["tool_call_id"], m["content"]) for m in _tool_messages(server.requests[1])]
    expected = [(r.call_id, r.content) for r in toolbox.execute_all(LOOKUPS)]
    if sent != expected:
        return not_yet(
            f"after a turn with two calls, the next request should carry both results "
            f"{expected}; it carried {sent}."
        )

    script = [completion(None, "tool_calls", MISTAKES), completion("I could not look that up.")]
    answer, server, _ = _run(tool_loop, script, max_steps=4)
    errors = [m["content"] for m in _tool_messages(server.requests[-1])]
    if len(errors) != 3 or not all(text.startswith("Error") for text in errors):
        return not_yet(
            f"three bad calls should come back as three tool messages starting with 'Error'; "
            f"your loop sent {errors}."
        )
    if answer != "I could not look that up.":
        return not_yet(f"after the errors the model answered; your loop returned {answer!r}.")

    answer, server, _ = _run(tool_loop, [completion(None, "tool_calls", FOREVER)], max_steps=3)
    if answer is not None or server.hits != 3:
        return not_yet(
            f"a model that calls a tool on every turn must be stopped after max_steps=3 "
            f"requests with the answer None; your loop made {server.hits} request(s) and "
            f"returned {answer!r}."
        )
    return solved(
        "results go back with their ids, errors come back as messages, and the step limit "
        "stops a runaway model (3 scripted conversations)."
    )


# ── Exercise 4 (mini-project): design a tool the loop survives ──────────────────────────
def _loop_with_run_tool_loop(client, model, messages, toolbox, max_steps=4):
    return run_tool_loop(client, model, messages, toolbox, max_steps=max_steps).answer


def _constraints(schema: object) -> set[str]:
    """Every JSON Schema constraint keyword anywhere in ``schema``."""
    if isinstance(schema, dict):
        found = CONSTRAINTS & set(schema)
        return found.union(*(_constraints(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_constraints(item) for item in schema))
    return set()


def _rubric(tool: Callable, good_arguments: dict, failing_arguments: dict, tool_loop: Callable):
    """Yield (passed, line) for each rubric item; a failed item says what to change."""
    try:
        schema = tool_schema(tool)
    except TypeError as error:
        yield False, f"describes itself: {error} (the other items need a schema first)"
        return
    function, parameters = schema["function"], schema["function"]["parameters"]
    undescribed = [n for n, spec in parameters["properties"].items() if not spec.get("description")]
    if len(function["description"].split()) < 5:
        yield (
            False,
            "describes itself: write a docstring of at least five words (the model reads it).",
        )
    elif undescribed or not parameters["properties"]:
        yield (
            False,
            f"describes itself: give {undescribed or 'it'} parameters a Field(description=...).",
        )
    else:
        yield True, f"describes itself: {function['description'].splitlines()[0]!r}"
    found = _constraints(parameters)
    yield bool(found), (
        f"constrains its inputs: {sorted(found)}" if found else
        "constrains its inputs: add a limit to the schema (Literal, pattern, max_length, ge/le, ...)."
    )  # fmt: skip

    calls = []

    @functools.wraps(tool)
    def counted(*args, **kwargs):
        calls.append(kwargs)
        return tool(*args, **kwargs)

    toolbox, name = ToolBox([counted]), tool.__name__
    good = toolbox.execute("good", name, json.dumps(good_arguments))
    if "NotImplementedError" in good.content:
        raise NotImplementedError  # the starter cell, unchanged
    yield good.ok, (
        f"works on good input: {name}({json.dumps(good_arguments)}) → {good.content[:80]}"
        if good.ok else f"works on good input: good_arguments gave {good.content[:160]}"
    )  # fmt: skip

    before = len(calls)
    bad = {
        "not JSON": '{"',
        "an argument it does not take": json.dumps({**good_arguments, "unexpected_argument": 1}),
    }
    if parameters.get("required"):
        bad["no arguments"] = "{}"
    refused = {label: toolbox.execute("bad", name, text) for label, text in bad.items()}
    slipped = [label for label, result in refused.items() if result.error != "invalid arguments"]
    ran = len(calls) > before
    yield not slipped and not ran, (
        f"refuses bad input before running: {len(bad)} malformed calls rejected, the tool never ran"
        if not slipped and not ran else
        f"refuses bad input before running: {slipped or 'a malformed call'} reached the tool."
    )  # fmt: skip

    failing = toolbox.execute("fail", name, json.dumps(failing_arguments))
    if failing.error == "tool raised":
        yield True, f"fails clearly: {failing.content[:120]}"
    elif failing.error == "invalid arguments":
        yield (
            False,
            (
                "fails clearly: failing_arguments did not pass validation; pick a call that is "
                f"valid but that your tool must refuse ({failing.content[:100]})."
            ),
        )
    else:
        yield (
            False,
            (
                f"fails clearly: {name}({json.dumps(failing_arguments)}) returned {failing.content[:60]!r}; "
                "it should raise an error that says what is wrong."
            ),
        )

    turn = [
        tool_call("call_1", "rm_rf", '{"path": "/"}'),
        tool_call("call_2", name, bad["an argument it does not take"]),
        tool_call("call_3", name, json.dumps(failing_arguments)),
        tool_call("call_4", name, json.dumps(good_arguments)),
    ]
    script = [completion(None, "tool_calls", turn), completion("Done.")]
    messages = [{"role": "user", "content": "Use the tool."}]
    with ScriptedAPI(strict_replies(script)) as server:
        client = server.sync_client(timeout=30)
        answer = tool_loop(client, "scripted", messages, ToolBox([tool]), max_steps=3)
    replies = _tool_messages(server.requests[-1]) if server.hits == 2 else []
    kinds = ["error" if m["content"].startswith("Error") else "result" for m in replies]
    survived = answer == "Done." and kinds == ["error", "error", "error", "result"]
    yield survived, (
        "the loop survives it: 3 errors and 1 result went back as tool messages, then an answer"
        if survived else
        f"the loop survives it: expected 3 errors then 1 result and the answer 'Done.'; got "
        f"{kinds} and {answer!r}."
    )  # fmt: skip


def check_tool_project(
    tool: Callable, good_arguments: dict, failing_arguments: dict, tool_loop: Callable | None = None
) -> Check:
    """Exercise 4: a rubric for a tool of your design, and for the loop that runs it."""
    loop = tool_loop or _loop_with_run_tool_loop
    lines, passed = [], 0
    try:
        for ok, line in _rubric(tool, good_arguments, failing_arguments, loop):
            passed += ok
            lines.append(("✓ " if ok else "✗ ") + line)
    except NotImplementedError:
        return not_yet("not started yet: replace the `raise NotImplementedError` line.")
    except Exception as error:  # the learner's code failed; say where
        lines.append(f"✗ your code raised {type(error).__name__}: {error}")
    total = 6
    report = f"rubric {passed}/{total}\n" + "\n".join(lines)
    return solved(report) if passed == total else not_yet(report)

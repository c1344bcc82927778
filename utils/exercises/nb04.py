"""Self-checks and hints for notebook 04 (structured output and tool calling)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from pydantic import BaseModel

from utils.example_tools import calculator, convert_units, lookup_benchmark
from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.structured import validate_json
from utils.tools import ToolBox, run_tool_loop, tool_schema

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

LOOP_KEYS = {"tool_choice", "then_tool_choice", "max_steps"}
LOOP_QUESTION = "What is 37 times 41? Use the calculator."

hint = hint_printer(
    {
        1: [
            "Each field is `name: type = Field(...)`. A field with no default is required.",
            "A number that may be null is `float | None`. Ranges and lengths go in Field: "
            "`Field(ge=0, le=100)`, `Field(min_length=1)`.",
            "model: str = Field(min_length=1); benchmark: the same; score: float | None = "
            "Field(ge=0, le=100) — with no default, so a missing score is rejected.",
        ],
        2: [
            "`tool_schema` needs a type hint on every parameter and a docstring (the description "
            "the model reads).",
            "Hint both parameters as `float`. Dividing by zero raises ZeroDivisionError by "
            "itself, and the ToolBox turns that into an error message for the model.",
        ],
        3: [
            "`tool_choice` applies to the first request, `then_tool_choice` to every later one.",
            "Keep the first call forced (the local server never calls a tool under 'auto'), then "
            "let the model answer: 'auto' or 'none' for the later requests.",
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


@guarded
def check_loop_settings(settings: dict, client, model: str) -> Check:
    """Exercise 3: the loop calls the calculator and ends with an answer within 3 steps."""
    if not isinstance(settings, dict) or set(settings) - LOOP_KEYS:
        return not_yet(f"use only the keys {sorted(LOOP_KEYS)}.")
    if not 1 <= settings.get("max_steps", 5) <= 3:
        return not_yet("keep max_steps between 1 and 3.")
    toolbox = ToolBox([calculator, lookup_benchmark, convert_units])
    messages = [{"role": "user", "content": LOOP_QUESTION}]
    run = run_tool_loop(client, model, messages, toolbox, max_tokens=64, temperature=0, **settings)
    called = [result for result in run.results if result.name == "calculator"]
    if run.stopped != "answered":
        return not_yet(
            f"the loop hit the step limit after {len(run.steps)} steps: every request forced a "
            "tool call, so the model could never answer. Try nb04.hint(3)."
        )
    if not called:
        return not_yet(
            "the model answered without calling the calculator (on the local server 'auto' "
            "never calls a tool: force the first call)."
        )
    return solved(
        f"calculator({called[0].arguments}) → {called[0].content}; answered in step "
        f"{len(run.steps)}: {(run.answer or '')[:60]!r}"
    )

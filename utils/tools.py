"""Tool calling: schemas from typed functions, an allow-list, and a safe loop.

    from utils.tools import ToolBox, run_tool_loop
    from utils.example_tools import calculator, convert_units

    toolbox = ToolBox([calculator, convert_units])   # the only functions that may run
    run = run_tool_loop(client, settings.model, messages, toolbox, max_steps=4)
    print(run.report())                               # every request, call and result

A tool is a plain Python function with a type hint on every parameter and a docstring.
``Annotated[str, Field(description=..., max_length=...)]`` adds a description and
constraints; they go into the schema the model sees *and* into the validation that runs
before the function does. The model never runs anything itself: it asks, your code checks.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from utils.structured import describe_validation_error

AUTO = "auto"


def arguments_model(function: Callable) -> type[BaseModel]:
    """A pydantic model of ``function``'s parameters: their types, defaults and constraints."""
    hints = get_type_hints(function, include_extras=True)
    fields = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{function.__name__}: *args/**kwargs cannot be described to a model")
        if name not in hints:
            raise TypeError(
                f"{function.__name__}: parameter {name!r} has no type hint; "
                "a tool needs one on every parameter (e.g. `x: float`)."
            )
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (hints[name], default)
    config = ConfigDict(extra="forbid")  # an argument the function does not take is an error
    return create_model(f"{function.__name__}_arguments", __config__=config, **fields)


def _without_titles(schema: Any) -> Any:
    """``schema`` minus pydantic's ``title`` keys (noise in a prompt: the names say it)."""
    if isinstance(schema, dict):
        return {
            key: _without_titles(value)
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_without_titles(item) for item in schema]
    return schema


def function_tool(name: str, description: str, parameters: dict) -> dict:
    """An OpenAI-style tool entry (what ``tools=[...]`` holds)."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def tool_schema(function: Callable) -> dict:
    """The tool schema of a typed function: its name, docstring and parameters."""
    description = inspect.getdoc(function)
    if not description:
        raise TypeError(f"{function.__name__} needs a docstring: it tells the model when to use it")
    parameters = _without_titles(arguments_model(function).model_json_schema())
    return function_tool(function.__name__, description, parameters)


def model_tool_schema(schema: type[BaseModel], name: str | None = None) -> dict:
    """A tool whose arguments are ``schema``'s fields: tool calling as structured output."""
    snake_name = re.sub(
        r"(?<!^)(?=[A-Z])", "_", schema.__name__
    ).lower()  # BenchmarkScore → benchmark_score
    description = inspect.getdoc(schema) or f"Record a {snake_name.replace('_', ' ')}."
    parameters = _without_titles(schema.model_json_schema())
    return function_tool(name or f"record_{snake_name}", description, parameters)


@dataclass
class ToolResult:
    """One tool call: what the model asked for and what went back to it."""

    call_id: str
    name: str
    arguments: str  # exactly as the model sent them (a JSON string)
    content: str  # the `tool` message's content: the output, or an error the model can act on
    error: str | None = None  # None | "unknown tool" | "invalid arguments" | "tool raised"

    @property
    def ok(self) -> bool:
        return self.error is None

    def message(self) -> dict:
        """The ``tool`` message that answers this call."""
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}


def _as_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, default=str)


class ToolBox:
    """The allow-list: only these functions can run, and only with validated arguments."""

    def __init__(self, functions: list[Callable]):
        self.functions: dict[str, Callable] = {}
        self.models: dict[str, type[BaseModel]] = {}
        for function in functions:
            if function.__name__ in self.functions:
                raise ValueError(f"two tools are named {function.__name__!r}")
            self.functions[function.__name__] = function
            self.models[function.__name__] = arguments_model(function)

    @property
    def names(self) -> list[str]:
        return list(self.functions)

    def schemas(self) -> list[dict]:
        """The ``tools=[...]`` list for a request."""
        return [tool_schema(function) for function in self.functions.values()]

    def choose(self, name: str) -> dict:
        """A ``tool_choice`` that forces the model to call ``name``."""
        if name not in self.functions:
            raise ValueError(f"unknown tool {name!r}; tools: {', '.join(self.names)}")
        return {"type": "function", "function": {"name": name}}

    def validate(self, name: str, arguments: str) -> BaseModel:
        """The parsed, validated arguments; ``ValueError`` says what is wrong with them."""
        try:
            data = json.loads(arguments or "{}", strict=False)
        except json.JSONDecodeError as error:
            raise ValueError(f"arguments are not valid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ValueError("arguments must be a JSON object of parameter names to values")
        try:
            return self.models[name].model_validate(data)
        except ValidationError as error:
            raise ValueError(describe_validation_error(error)) from None

    def execute(self, call_id: str, name: str, arguments: str) -> ToolResult:
        """Run one requested call if it is allowed and valid; never raises."""
        if name not in self.functions:
            content = (
                f"Error: there is no tool named {name!r}. Available tools: {', '.join(self.names)}."
            )
            return ToolResult(call_id, name, arguments, content, "unknown tool")
        try:
            validated = self.validate(name, arguments)
        except ValueError as error:
            content = f"Error: invalid arguments for {name}: {error}. Fix them and call again."
            return ToolResult(call_id, name, arguments, content, "invalid arguments")
        try:
            arguments_by_name = {
                key: getattr(validated, key) for key in type(validated).model_fields
            }
            output = self.functions[name](**arguments_by_name)
        except Exception as error:  # a tool's failure is news for the model, not a crash
            content = f"Error: {name} failed: {type(error).__name__}: {error}"
            return ToolResult(call_id, name, arguments, content, "tool raised")
        return ToolResult(call_id, name, arguments, _as_text(output))

    def execute_all(self, tool_calls) -> list[ToolResult]:
        """Run every call of one assistant turn, in order (SDK objects or plain dicts)."""
        results = []
        for call in tool_calls:
            call = call if isinstance(call, dict) else call.model_dump()
            function = call.get("function") or {}
            results.append(
                self.execute(
                    call.get("id", ""), function.get("name", ""), function.get("arguments", "")
                )
            )
        return results


def assistant_message(message) -> dict:
    """The assistant turn to send back: its text ("" not None) and its tool calls."""
    turn = {"role": "assistant", "content": message.content or ""}  # llama.cpp rejects None
    if message.tool_calls:
        turn["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
        ]
    return turn


@dataclass
class Step:
    """One request in the loop and the tool calls it led to."""

    number: int
    finish_reason: str | None
    content: str | None
    results: list[ToolResult] = field(default_factory=list)


@dataclass
class ToolRun:
    """What a tool loop did: each step, the final answer, and why it stopped."""

    steps: list[Step]
    messages: list[dict]
    answer: str | None  # the final text; None if the loop stopped without one
    stopped: str  # "answered" or "step limit"

    @property
    def results(self) -> list[ToolResult]:
        return [result for step in self.steps for result in step.results]

    def report(self, width: int = 100) -> str:
        """A readable trace: each step's tool calls and results, then the outcome."""
        lines = []
        for step in self.steps:
            if not step.results:
                text = " ".join((step.content or "").split())
                text = text if len(text) <= width else text[: width - 1] + "…"
                lines.append(f"step {step.number} [{step.finish_reason}] answer: {text!r}")
            for result in step.results:
                lines.append(
                    f"step {step.number} [{step.finish_reason}] {result.name}({result.arguments})"
                )
                mark = "→" if result.ok else f"✗ {result.error} →"
                lines.append(f"    {mark} {result.content[:width]}")
        lines.append(f"stopped: {self.stopped} after {len(self.steps)} step(s)")
        return "\n".join(lines)


def run_tool_loop(
    client,
    model: str,
    messages: list[dict],
    toolbox: ToolBox,
    *,
    tool_choice: str | dict = AUTO,
    then_tool_choice: str | dict = AUTO,
    max_steps: int = 5,
    **request: Any,
) -> ToolRun:
    """Request → tool calls → validate → run → ``tool`` messages → ..., until an answer.

    ``tool_choice`` applies to the first request and ``then_tool_choice`` to the rest (keep
    it "auto": forcing a tool on every request leaves the model no way to answer).
    ``max_steps`` caps the number of requests, so a model that keeps calling tools stops.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    conversation = list(messages)
    steps: list[Step] = []
    for number in range(1, max_steps + 1):
        response = client.chat.completions.create(
            model=model,
            messages=conversation,
            tools=toolbox.schemas(),
            tool_choice=tool_choice if number == 1 else then_tool_choice,
            **request,
        )
        choice = response.choices[0]
        step = Step(number, choice.finish_reason, choice.message.content)
        steps.append(step)
        conversation.append(assistant_message(choice.message))
        if not choice.message.tool_calls:
            return ToolRun(steps, conversation, choice.message.content or "", "answered")
        step.results = toolbox.execute_all(choice.message.tool_calls)
        conversation.extend(result.message() for result in step.results)
    return ToolRun(steps, conversation, None, "step limit")

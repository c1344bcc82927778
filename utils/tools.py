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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from utils.structured import describe_validation_error, snake_name

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
    snake = snake_name(schema)  # BenchmarkScore → benchmark_score
    description = inspect.getdoc(schema) or f"Record a {snake.replace('_', ' ')}."
    parameters = _without_titles(schema.model_json_schema())
    return function_tool(name or f"record_{snake}", description, parameters)


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
        """Run one requested call if it is allowed and valid; never raises.

        The same three steps as the loop written out in notebook 04: the allow-list, then
        validation before anything runs, then the call, each failure becoming a message.
        """
        if name not in self.functions:  # 1. only allow-listed tools
            content = (
                f"Error: there is no tool named {name!r}. Available tools: {', '.join(self.names)}."
            )
            return ToolResult(call_id, name, arguments, content, "unknown tool")
        try:
            validated = self.validate(name, arguments)  # 2. validate before running
        except ValueError as error:
            content = f"Error: invalid arguments for {name}: {error}. Fix them and call again."
            return ToolResult(call_id, name, arguments, content, "invalid arguments")
        try:
            output = self.functions[name](**dict(validated))  # 3. run
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
    turn = {"role": "assistant", "content": message.content or ""}  # some servers reject null
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

    The loop of notebook 04, packaged. ``tool_choice`` applies to the first request and
    ``then_tool_choice`` to the rest (keep it "auto": a forced choice on every request leaves
    the model no way to answer). ``max_steps`` caps the number of requests, so a model that
    keeps calling tools stops. ``messages`` is not modified; the run holds its own copy.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    messages = list(messages)
    steps: list[Step] = []
    for number in range(1, max_steps + 1):
        response = client.chat.completions.create(
            model=model,
            messages=messages,
            tools=toolbox.schemas(),
            tool_choice=tool_choice if number == 1 else then_tool_choice,
            **request,
        )
        message = response.choices[0].message
        step = Step(number, response.choices[0].finish_reason, message.content)
        steps.append(step)
        messages.append(assistant_message(message))
        if not message.tool_calls:
            return ToolRun(steps, messages, message.content or "", "answered")
        step.results = toolbox.execute_all(message.tool_calls)
        messages.extend(result.message() for result in step.results)
    return ToolRun(steps, messages, None, "step limit")


def tool_protocol_errors(messages: list[dict]) -> list[str]:
    """What a strict API rejects in a tool conversation, as sentences (empty: all fine).

    Every ``tool_calls`` entry of an assistant turn needs exactly one ``tool`` message with
    its ``tool_call_id``, after that turn and before the next user or assistant turn.
    """
    errors: list[str] = []
    open_calls: dict[str, int] = {}  # call id → index of the assistant turn that made it

    def close_open_calls() -> None:
        for call_id, turn in open_calls.items():
            errors.append(f"tool call {call_id!r} (message {turn}) has no tool message")
        open_calls.clear()

    for index, message in enumerate(messages):
        role = message.get("role")
        if role in ("assistant", "user"):
            close_open_calls()
        if role == "assistant" and message.get("tool_calls"):
            open_calls.update({call["id"]: index for call in message["tool_calls"]})
        elif role == "tool" and open_calls.pop(message.get("tool_call_id"), None) is None:
            errors.append(
                f"message {index}: no open tool call has the id {message.get('tool_call_id')!r}"
            )
    close_open_calls()
    return errors

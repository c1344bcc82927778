"""The self-checks of notebook 04 accept right answers and explain wrong ones."""

import json
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from utils.exercises import nb04
from utils.tools import run_tool_loop


class Reference(BaseModel):
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float | None = Field(ge=0, le=100)


class Empty(BaseModel):
    pass


class ScoreOptional(BaseModel):  # a missing score slips through
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float | None = Field(default=None, ge=0, le=100)


class NoNull(BaseModel):  # a blank is rejected
    model: str = Field(min_length=1)
    benchmark: str = Field(min_length=1)
    score: float = Field(ge=0, le=100)


def test_schema_check():
    assert nb04.check_schema(Reference).solved
    assert "176.1 is above 100" in nb04.check_schema(Empty).message
    assert "score is missing" in nb04.check_schema(ScoreOptional).message
    assert "you rejected" in nb04.check_schema(NoNull).message
    assert "pydantic model" in nb04.check_schema(dict).message


def percent_change(old: float, new: float) -> float:
    """The change from old to new, in percent."""
    return (new - old) / old * 100


def test_tool_check():
    assert nb04.check_tool(percent_change).solved

    def untyped(old, new):
        """Doc."""

    def integers(old: int, new: int) -> float:
        """Doc."""
        return (new - old) / old * 100

    def infinite(old: float, new: float) -> float:
        """Doc."""
        return float("inf") if old == 0 else (new - old) / old * 100

    def wrong(old: float, new: float) -> float:
        """Doc."""
        return (old - new) / new * 100

    assert "no type hint" in nb04.check_tool(untyped).message
    assert "hint it as float" in nb04.check_tool(integers).message
    assert "should fail with an error" in nb04.check_tool(infinite).message
    assert "expected" in nb04.check_tool(wrong).message


# ── Exercise 3: loops checked against scripted turns on a real loopback server ──────────
def loop_answering(answer_turn):
    """The loop of notebook 04 as a function; each turn's tool messages come from ``answer_turn``."""

    def loop(client, model, messages, toolbox, max_steps=4):
        messages = list(messages)
        for _ in range(max_steps):
            reply = client.chat.completions.create(
                model=model, messages=messages, tools=toolbox.schemas()
            )
            message = reply.choices[0].message
            if not message.tool_calls:
                return message.content
            calls = [call.model_dump() for call in message.tool_calls]
            messages.append(
                {"role": "assistant", "content": message.content or "", "tool_calls": calls}
            )
            messages.extend(answer_turn(toolbox, message.tool_calls))
        return None

    return loop


def answer_every_call(toolbox, calls):
    """Each call of the turn run, its result as a tool message: what a right loop does."""
    return [toolbox.execute(c.id, c.function.name, c.function.arguments).message() for c in calls]


tool_loop = loop_answering(answer_every_call)  # a right answer


def test_loop_check_accepts_a_right_loop_and_the_packaged_one():
    assert nb04.check_loop(tool_loop).solved

    def packaged(client, model, messages, toolbox, max_steps=4):
        return run_tool_loop(client, model, messages, toolbox, max_steps=max_steps).answer

    assert nb04.check_loop(packaged).solved


def test_loop_check_explains_common_mistakes():
    def not_started(client, model, messages, toolbox, max_steps=4):
        raise NotImplementedError

    def mutates(client, model, messages, toolbox, max_steps=4):
        messages.append({"role": "user", "content": "again"})
        return tool_loop(client, model, messages[:1], toolbox, max_steps)

    def first_only(toolbox, calls):  # the other calls of the turn are never answered
        call = calls[0]
        return [toolbox.execute(call.id, call.function.name, call.function.arguments).message()]

    def raising(toolbox, calls):
        results = [toolbox.execute(c.id, c.function.name, c.function.arguments) for c in calls]
        for result in results:
            if not result.ok:
                raise RuntimeError(result.content)
        return [result.message() for result in results]

    first_call_only, raises_on_errors = loop_answering(first_only), loop_answering(raising)

    def no_step_limit(client, model, messages, toolbox, max_steps=4):
        return tool_loop(client, model, messages, toolbox, max_steps=5)  # ignores max_steps

    def no_tools(client, model, messages, toolbox, max_steps=4):
        return (
            client.chat.completions.create(model=model, messages=messages)
            .choices[0]
            .message.content
        )

    assert "not started yet" in nb04.check_loop(not_started).message
    assert "changed the caller's `messages`" in nb04.check_loop(mutates).message
    assert "'call_b' (message 1) has no tool message" in nb04.check_loop(first_call_only).message
    assert "RuntimeError" in nb04.check_loop(raises_on_errors).message
    assert "stopped after max_steps=3" in nb04.check_loop(no_step_limit).message
    assert "send tools=toolbox.schemas()" in nb04.check_loop(no_tools).message


def test_the_check_server_ends_a_loop_without_a_step_limit():
    def endless(client, model, messages, toolbox, max_steps=4):
        while True:
            tool_loop(client, model, messages, toolbox, max_steps=1)

    message = nb04.check_loop(endless).message
    assert "does your loop have a step limit?" in message


# ── Exercise 4: the mini-project's rubric ───────────────────────────────────────────────
def days_between(
    start: Annotated[date, Field(description="First day, as YYYY-MM-DD")],
    end: Annotated[date, Field(description="Last day, as YYYY-MM-DD, not before start")],
) -> int:
    """Count the days from start to end. Use it for any question about dates."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}; swap them")
    return (end - start).days


GOOD = {"start": "2025-01-01", "end": "2025-01-28"}
FAILING = {"start": "2025-01-28", "end": "2025-01-01"}


def test_project_rubric_passes_a_good_design():
    result = nb04.check_tool_project(days_between, GOOD, FAILING)
    assert result.solved, result.message
    assert result.message.startswith("rubric 6/6")
    assert "→ 27" in result.message and "swap them" in result.message
    assert nb04.check_tool_project(days_between, GOOD, FAILING, tool_loop=tool_loop).solved


def test_project_rubric_names_what_is_missing():
    def vague(start: date, end: date) -> int:
        """Days."""
        return (end - start).days

    result = nb04.check_tool_project(vague, GOOD, FAILING)
    assert not result.solved and result.message.startswith("rubric ")
    assert "at least five words" in result.message
    assert "✗ fails clearly" in result.message  # -27 is returned, nothing is refused

    def loose(text: Annotated[str, Field(description="Any text at all")]) -> str:
        """Echo the text back to the caller unchanged."""
        return text

    message = nb04.check_tool_project(loose, {"text": "hi"}, {"text": "x"}).message
    assert "✗ constrains its inputs" in message and "✓ works on good input" in message

    def unstarted(x):
        raise NotImplementedError

    message = nb04.check_tool_project(unstarted, {}, {}).message
    assert message.startswith("rubric 0/6") and "needs a docstring" in message


def test_project_rubric_catches_a_loop_that_dies_on_errors():
    def fragile_loop(client, model, messages, toolbox, max_steps=4):
        messages = list(messages)
        message = (
            client.chat.completions.create(model=model, messages=messages, tools=toolbox.schemas())
            .choices[0]
            .message
        )
        for call in message.tool_calls:
            result = toolbox.execute(call.id, call.function.name, call.function.arguments)
            if not result.ok:
                raise RuntimeError(json.dumps(result.content))
        return "never"

    message = nb04.check_tool_project(days_between, GOOD, FAILING, tool_loop=fragile_loop).message
    assert "rubric 5/6" in message and "RuntimeError" in message


def test_project_rubric_says_when_the_starter_is_unchanged():
    def my_tool(text: str = "") -> str:
        """Describe what your tool does and when the model should use it."""
        raise NotImplementedError

    assert "not started yet" in nb04.check_tool_project(my_tool, {}, {}).message

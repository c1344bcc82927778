"""Structured output: ask for JSON, validate it with pydantic, re-ask with the error.

JSON mode (``response_format={"type": "json_object"}``) promises *syntax* at best; only
validation against your schema tells you whether the reply is what you asked for::

    from utils.structured import ask_for_json

    result = ask_for_json(client, settings.model, messages, MyModel, max_attempts=3)
    result.value          # a MyModel instance, or None if every attempt failed
    print(result.report())  # one line per attempt: what came back, what was wrong
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

JSON_MODE = {"type": "json_object"}  # portable: DashScope, OpenAI, llama.cpp, vLLM, ...


def json_instruction(schema: type[BaseModel]) -> str:
    """A system-message line asking for one JSON object that matches ``schema``.

    It names the word "JSON", which DashScope and OpenAI require in the messages when
    ``response_format`` is ``json_object``.
    """
    return (
        "Reply with only one JSON object, no other text. It must match this JSON Schema:\n"
        + json.dumps(schema.model_json_schema())
    )


def parse_json_object(text: str | None) -> dict:
    """The JSON object in ``text``; raises ``ValueError`` saying what is wrong with it.

    Control characters inside strings are accepted (``strict=False``): the local server's
    schema grammars let raw newlines into strings, which strict parsers reject.
    """
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object {{...}}, got {type(data).__name__}")
    return data


def find_json_object(text: str | None) -> dict:
    """The first JSON object embedded in free text (e.g. inside a ```json fence)."""
    decoder = json.JSONDecoder(strict=False)
    start = (text or "").find("{")
    while start != -1:
        try:
            data, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(data, dict):
            return data
        start = text.find("{", start + 1)
    raise ValueError("no JSON object found in the text")


def describe_validation_error(error: ValidationError) -> str:
    """A pydantic ``ValidationError`` as short ``field: problem`` phrases a model can act on."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def validate_json(text: str | None, schema: type[BaseModel]) -> BaseModel:
    """Parse ``text`` and validate it against ``schema``; ``ValueError`` says what failed."""
    data = parse_json_object(text)
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        raise ValueError(
            f"does not match the schema ({describe_validation_error(error)})"
        ) from None


@dataclass
class Attempt:
    """One request and what came of it."""

    content: str | None  # the model's reply, as sent
    finish_reason: str | None
    error: str | None = None  # None when the reply validated


@dataclass
class StructuredResult:
    """The validated value (or None) and every attempt that led to it."""

    value: BaseModel | None
    attempts: list[Attempt] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)  # the conversation, re-asks included

    @property
    def ok(self) -> bool:
        return self.value is not None

    def report(self, width: int = 90) -> str:
        """One line per attempt: valid or the reason it was rejected."""
        lines = []
        for number, attempt in enumerate(self.attempts, start=1):
            reply = " ".join((attempt.content or "").split())
            reply = reply if len(reply) <= width else reply[: width - 1] + "…"
            verdict = "valid" if attempt.error is None else f"rejected: {attempt.error}"
            lines.append(f"attempt {number} [{attempt.finish_reason}] {reply!r}\n  → {verdict}")
        outcome = "validated" if self.ok else f"gave up after {len(self.attempts)} attempts"
        return "\n".join([*lines, outcome])


def reask_message(error: str) -> dict:
    """The user message that sends a validation error back to the model."""
    return {
        "role": "user",
        "content": f"That reply was rejected: {error}. "
        "Reply again with only the corrected JSON object.",
    }


def ask_for_json(
    client,
    model: str,
    messages: list[dict],
    schema: type[BaseModel],
    *,
    max_attempts: int = 3,
    response_format: dict | None = None,
    **request: Any,
) -> StructuredResult:
    """Ask for JSON matching ``schema``; on a bad reply, re-ask with the error (bounded).

    ``messages`` should describe the schema (see ``json_instruction``). ``response_format``
    defaults to JSON mode; ``request`` holds other ``chat.completions.create`` options.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    conversation = list(messages)
    result = StructuredResult(value=None, messages=conversation)
    for _ in range(max_attempts):
        response = client.chat.completions.create(
            model=model,
            messages=conversation,
            response_format=response_format or JSON_MODE,
            **request,
        )
        choice = response.choices[0]
        attempt = Attempt(choice.message.content, choice.finish_reason)
        result.attempts.append(attempt)
        try:
            result.value = validate_json(attempt.content, schema)
        except ValueError as error:
            attempt.error = str(error)
            if choice.finish_reason == "length":
                attempt.error += " (cut off by max_tokens)"
            conversation.append({"role": "assistant", "content": attempt.content or ""})
            conversation.append(reask_message(attempt.error))
            continue
        break
    return result

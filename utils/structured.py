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
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

JSON_MODE = {"type": "json_object"}  # portable: DashScope, OpenAI, llama.cpp, vLLM, ...


def json_schema_format(schema: type[BaseModel]) -> dict:
    """``response_format`` asking the server to follow ``schema`` itself (OpenAI's form).

    llama.cpp's server turns it into a grammar; OpenAI and some Model Studio models (not
    qwen-max) accept it too. Elsewhere use JSON mode and validate.
    """
    return {
        "type": "json_schema",
        "json_schema": {"name": snake_name(schema), "schema": schema.model_json_schema()},
    }


def snake_name(schema: type) -> str:
    """A class name in snake case: ``BenchmarkScore`` → ``benchmark_score``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", schema.__name__).lower()


def json_instruction(schema: type[BaseModel]) -> str:
    """A system message asking for one JSON object with ``schema``'s keys, one line per key.

    It says "JSON", which Model Studio and OpenAI require in the messages with JSON mode, and
    spells out each key's type and limits. A raw JSON Schema works for large models, but
    small ones copy it instead of filling it in (notebook 04 measures both).
    """
    properties = schema.model_json_schema().get("properties", {})
    keys = [f'- "{name}": {describe_field(spec)}' for name, spec in properties.items()]
    return "Reply with only one JSON object, no other text, with exactly these keys:\n" + "\n".join(
        keys
    )


LIMITS_IN_WORDS = {  # JSON Schema keyword → how json_instruction says it
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minimum": "at least {:g}",
    "maximum": "at most {:g}",
    "exclusiveMinimum": "more than {:g}",
    "exclusiveMaximum": "less than {:g}",
    "pattern": "matching {}",
}


def describe_field(spec: dict) -> str:
    """One JSON Schema property in words: ``number (at least 0, at most 100) or null``."""
    if "anyOf" in spec:
        text = " or ".join(describe_field(option) for option in spec["anyOf"])
    else:
        if "enum" in spec:
            kind = "one of " + ", ".join(json.dumps(value) for value in spec["enum"])
        else:
            kind = spec.get("type", "object" if "$ref" in spec else "any value")
        limits = [words.format(spec[key]) for key, words in LIMITS_IN_WORDS.items() if key in spec]
        text = f"{kind} ({', '.join(limits)})" if limits else kind
    return f"{text}: {spec['description']}" if spec.get("description") else text


def parse_json_object(text: str | None) -> dict:
    """The JSON object in ``text``; raises ``ValueError`` saying what is wrong with it.

    Control characters inside strings are accepted (``strict=False``): a schema
    grammar may let a raw newline into a string, which strict parsers reject.
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

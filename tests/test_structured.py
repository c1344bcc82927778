"""utils.structured: parsing, validation, and the bounded re-ask (canned and real server)."""

from typing import Literal

import pytest
from openai import OpenAI
from pydantic import BaseModel, Field

from utils import get_client
from utils.loopback.scripted import ScriptedAPI, completion, in_order
from utils.structured import (
    ask_for_json,
    describe_field,
    describe_validation_error,
    find_json_object,
    json_instruction,
    json_schema_format,
    parse_json_object,
    reask_message,
    validate_json,
)


class Score(BaseModel):
    model: str = Field(max_length=20)
    score: float = Field(ge=0, le=100)


def get_client_for(server) -> OpenAI:
    """A client for a canned server (no retries: each request is one hit)."""
    return OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def test_json_instruction_names_json_and_spells_out_each_key():
    text = json_instruction(Score)
    assert "JSON" in text  # Model Studio and OpenAI require the word in JSON mode
    assert text.splitlines()[1:] == [
        '- "model": string (at most 20 characters)',
        '- "score": number (at least 0, at most 100)',
    ]


def test_describe_field_covers_nulls_enums_bounds_and_descriptions():
    class Report(BaseModel):
        score: float | None = Field(gt=0, lt=100)
        unit: Literal["%", "points"] = Field(description="how the score is counted")
        code: str = Field(min_length=2, pattern="^[A-Z]+$")

    properties = Report.model_json_schema()["properties"]
    described = {name: describe_field(spec) for name, spec in properties.items()}
    assert described == {
        "score": "number (more than 0, less than 100) or null",
        "unit": 'one of "%", "points": how the score is counted',
        "code": "string (at least 2 characters, matching ^[A-Z]+$)",
    }


def test_json_schema_format_is_openais_form_with_a_snake_name():
    assert json_schema_format(Score) == {
        "type": "json_schema",
        "json_schema": {"name": "score", "schema": Score.model_json_schema()},
    }


def test_parse_json_object_accepts_objects_and_raw_newlines_in_strings():
    assert parse_json_object('{"a": 1}') == {"a": 1}
    assert parse_json_object('{"a": "line 1\nline 2"}') == {"a": "line 1\nline 2"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "empty"),
        ("   ", "empty"),
        ('{"a": 1', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ("Sure! {}", "not valid JSON"),
    ],
)
def test_parse_json_object_says_what_is_wrong(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_json_object(text)


def test_find_json_object_digs_an_object_out_of_text():
    assert find_json_object('Sure!\n```json\n{"a": {"b": 2}}\n```') == {"a": {"b": 2}}
    assert find_json_object('{broken {"ok": true} tail') == {"ok": True}
    with pytest.raises(ValueError, match="no JSON object"):
        find_json_object("no braces at all [1]")
    with pytest.raises(ValueError):
        find_json_object(None)


def test_validation_errors_name_each_field_and_problem():
    with pytest.raises(ValueError) as caught:
        validate_json('{"model": "' + "x" * 30 + '", "score": 101}', Score)
    message = str(caught.value)
    assert "model: String should have at most 20 characters" in message
    assert "score: Input should be less than or equal to 100" in message
    assert validate_json('{"model": "m", "score": 50}', Score) == Score(model="m", score=50)


def test_describe_validation_error_handles_nested_locations():
    class Outer(BaseModel):
        inner: Score

    with pytest.raises(Exception) as caught:
        Outer.model_validate({"inner": {"model": "m"}})
    assert describe_validation_error(caught.value) == "inner.score: Field required"


def test_reask_message_carries_the_error():
    message = reask_message("score: Field required")
    assert message["role"] == "user" and "score: Field required" in message["content"]


def test_a_valid_first_reply_is_one_attempt(fake_api):
    server = fake_api(200, completion('{"model": "Qwen2.5-Max", "score": 76.1}'))
    client = get_client_for(server)
    result = ask_for_json(client, "test-model", [{"role": "user", "content": "JSON"}], Score)
    assert result.ok and result.value == Score(model="Qwen2.5-Max", score=76.1)
    assert len(result.attempts) == 1 and result.attempts[0].error is None
    assert "validated" in result.report()
    assert server.hits == 1


def test_invalid_replies_are_re_asked_then_given_up(fake_api):
    server = fake_api(200, completion('{"model": "Qwen2.5-Max"', finish_reason="length"))
    client = get_client_for(server)
    messages = [{"role": "user", "content": "JSON please"}]
    result = ask_for_json(client, "test-model", messages, Score, max_attempts=3)
    assert not result.ok and result.value is None
    assert len(result.attempts) == 3 and server.hits == 3
    assert all("cut off by max_tokens" in attempt.error for attempt in result.attempts)
    assert messages == [
        {"role": "user", "content": "JSON please"}
    ]  # the caller's list is untouched
    assert [m["role"] for m in result.messages] == ["user"] + ["assistant", "user"] * 3
    assert "gave up after 3 attempts" in result.report()


def test_a_re_ask_that_works_ends_with_the_value():
    turns = [completion('{"model": "Qwen2.5-Max", "score": 176.1}'), completion('{"model": "Qwen2.5-Max", "score": 76.1}')]  # fmt: skip
    with ScriptedAPI(in_order(turns)) as server:
        messages = [{"role": "user", "content": "JSON please"}]
        result = ask_for_json(server.sync_client(), "m", messages, Score, max_attempts=3)
    assert result.ok and result.value == Score(model="Qwen2.5-Max", score=76.1)
    assert [a.error is None for a in result.attempts] == [False, True] and server.hits == 2
    reask = server.requests[1]["messages"][-1]
    assert reask["role"] == "user" and "less than or equal to 100" in reask["content"]
    assert "validated" in result.report()


def test_max_attempts_must_be_positive(fake_api):
    client = get_client_for(fake_api(200, completion("{}")))
    with pytest.raises(ValueError, match="at least 1"):
        ask_for_json(client, "m", [], Score, max_attempts=0)


class Ticket(BaseModel):
    code: Literal["QX-7"]  # nothing in the prompt tells the model this


def test_real_server_reasks_with_the_error_and_stops(local_settings):
    client = get_client(local_settings)
    messages = [{"role": "user", "content": "Describe a cat as JSON."}]
    result = ask_for_json(
        client, local_settings.model, messages, Ticket, max_attempts=2, max_tokens=20, temperature=0
    )
    assert not result.ok and len(result.attempts) == 2
    assert all(attempt.error for attempt in result.attempts)
    reask = result.messages[2]
    assert reask["role"] == "user" and result.attempts[0].error in reask["content"]


@pytest.mark.parametrize("form", ["json_schema", "json_object with schema"])
def test_real_server_schema_grammar_validates_first_time(local_settings, form):
    class Cat(BaseModel):
        name: str = Field(max_length=20)
        age: int

    client = get_client(local_settings)
    result = ask_for_json(
        client,
        local_settings.model,
        [{"role": "user", "content": "Describe a cat as JSON."}],
        Cat,
        max_attempts=2,
        response_format=json_schema_format(Cat)
        if form == "json_schema"
        else {"type": "json_object", "schema": Cat.model_json_schema()},
        max_tokens=256,  # room for the longest object the grammar allows: never cut short
        temperature=0,
    )
    assert result.ok and len(result.attempts) == 1, result.report()
    assert isinstance(result.value, Cat)

"""utils.thinking: the thinking table, requests that refuse what Model Studio refuses, settings."""

import openai
import pytest

from utils import model_table
from utils.clients import DashScopeClient
from utils.settings import ConfigError, resolve_settings
from utils.thinking import (
    ThinkingError,
    ThinkingUnavailable,
    assistant_turn,
    default_thinking_model,
    known_models,
    thinking_facts,
    thinking_model_for,
    thinking_request,
    thinking_table,
)

THINKER, ALWAYS, NEVER = "qwen3-235b-a22b", "qwq-plus", "qwen-max-2025-01-25"
ASK = [{"role": "user", "content": "Which is larger, 9.11 or 9.8?"}]


def test_every_row_says_how_the_model_thinks_and_where_that_is_written():
    table = thinking_table()
    assert set(table.thinking) <= {"never", "hybrid", "always"}
    assert (table.read.str.fullmatch(r"\d{4}-\d{2}-\d{2}")).all()
    for model, row in table.iterrows():
        assert row.source and row.note, model
        if row.thinking != "never":
            assert row.default in ("on", "off") and row.budget in ("honoured", "ignored"), model
    assert list(table.index[table.course_default == "yes"]) == [default_thinking_model()]


def test_qwen_max_never_thinks_and_every_thinking_model_is_in_the_model_table():
    for model in ("qwen-max", "qwen-max-latest", NEVER):
        assert thinking_facts(model).thinking == "never"
    models = model_table.load_models()
    for model in known_models():
        assert model in models.index, f"{model} is in the thinking table but not in models.csv"
    assert thinking_facts("no-such-model") is None and thinking_facts(None) is None


def test_who_thinks_by_default():
    assert thinking_facts(THINKER).thinks_by_default and thinking_facts(ALWAYS).thinks_by_default
    assert not thinking_facts(NEVER).thinks_by_default and not thinking_facts(NEVER).can_think


def test_a_thinking_request_puts_the_switch_and_budget_in_extra_body():
    request = thinking_request(THINKER, ASK, budget=200, max_tokens=300)
    assert request == {
        "model": THINKER, "messages": ASK, "stream": True, "max_tokens": 300,
        "stream_options": {"include_usage": True},
        "extra_body": {"enable_thinking": True, "thinking_budget": 200},
    }  # fmt: skip
    off = thinking_request(THINKER, ASK, enable=False, stream=False)
    assert off["extra_body"] == {"enable_thinking": False} and off["stream"] is False
    assert "stream_options" not in off
    assert "enable_thinking" not in thinking_request(ALWAYS, ASK).get("extra_body", {})


@pytest.mark.parametrize(
    ("model", "options", "says"),
    [
        (NEVER, {}, "cannot think"),
        (ALWAYS, {"enable": False}, "always thinks"),
        (ALWAYS, {"budget": 100}, "ignores thinking_budget"),
        (THINKER, {"budget": 0}, "whole number of tokens"),
        (THINKER, {"budget": True}, "whole number of tokens"),
        (THINKER, {"budget": 50, "enable": False}, "means nothing"),
        (THINKER, {"response_format": {"type": "json_object"}}, "rules out response_format"),
        (THINKER, {"stream": False}, "only as a stream"),
        (ALWAYS, {"stream": False}, "only as a stream"),
        ("gpt-5", {}, "no thinking facts"),
    ],
)
def test_what_model_studio_refuses_or_ignores_is_refused_with_what_to_do(model, options, says):
    with pytest.raises(ThinkingError, match=says) as caught:
        thinking_request(model, ASK, **options)
    assert "What to do:" in str(caught.value)


def test_partial_mode_is_refused_with_thinking_and_allowed_without():
    partial = [*ASK, {"role": "assistant", "content": "9.", "partial": True}]
    with pytest.raises(ThinkingError, match="partial mode"):
        thinking_request(THINKER, partial)
    assert thinking_request(THINKER, partial, enable=False)["messages"] == partial


def test_the_helper_refuses_exactly_what_the_stand_in_answers_with_400(standin, backend):
    """Each refusal of thinking_request, sent raw, is a 400 from the stand-in; allowed ones pass."""
    client = DashScopeClient(base_url=standin.base_url, api_key=standin.api_key, max_retries=0)
    raw = [
        {"model": NEVER, "extra_body": {"enable_thinking": True}, "stream": True},
        {"model": THINKER},  # not streamed, thinking on by default
        {"model": ALWAYS, "extra_body": {"enable_thinking": False}},
        {"model": THINKER, "stream": True, "response_format": {"type": "json_object"}},
    ]
    for request in raw:
        with pytest.raises(openai.BadRequestError):
            messages = [{"role": "user", "content": "json: 9.11 or 9.8?"}]
            client.chat.completions.create(messages=messages, **request)
    allowed = thinking_request(THINKER, ASK, enable=False, stream=False, max_tokens=5)
    assert client.chat.completions.create(**allowed).choices[0].message.content == "scripted answer"
    assert len(backend.requests) == 1


def test_the_history_keeps_the_answer_not_the_thoughts():
    assert assistant_turn("9.8", reasoning="9.80 > 9.11") == {"role": "assistant", "content": "9.8"}
    call = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    kept = assistant_turn(None, tool_calls=call, reasoning="look it up", keep_reasoning=True)
    assert kept["reasoning_content"] == "look it up" and kept["tool_calls"] == call
    assert "reasoning_content" not in assistant_turn("x", reasoning="r", keep_reasoning=True)


def test_dashscope_settings_pick_the_tables_thinking_model_or_the_setting():
    key = {"DASHSCOPE_API_KEY": "sk-test"}
    assert resolve_settings(key).thinking_model == default_thinking_model() == THINKER
    assert resolve_settings({**key, "QWEN_THINKING_MODEL": ALWAYS}).thinking_model == ALWAYS
    with pytest.raises(ConfigError, match="cannot think"):
        resolve_settings({**key, "QWEN_THINKING_MODEL": "qwen-max"})


def test_without_a_key_there_is_no_thinking_model_and_the_message_says_how_to_get_one():
    local = resolve_settings({})
    assert local.thinking_model is None
    with pytest.raises(ThinkingUnavailable, match="DASHSCOPE_API_KEY") as caught:
        thinking_model_for(local)
    assert "cannot think" in str(caught.value) and THINKER in str(caught.value)
    other = resolve_settings({"OPENAI_BASE_URL": "http://localhost:8000/v1", "OPENAI_MODEL": "m"})
    with pytest.raises(ThinkingUnavailable, match="QWEN_THINKING_MODEL"):
        thinking_model_for(other)
    chosen = {"OPENAI_BASE_URL": "http://localhost:8000/v1", "QWEN_THINKING_MODEL": "qwen3-8b"}
    assert thinking_model_for(resolve_settings(chosen)) == "qwen3-8b"
    assert thinking_model_for(resolve_settings({"DASHSCOPE_API_KEY": "sk-test"})) == THINKER

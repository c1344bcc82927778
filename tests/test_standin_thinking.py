"""The Model Studio stand-in's thinking contract (lesson 12; sources in data/thinking_models.csv).

Refusals are checked against a scripted backend that records what reaches it (a refused
request reaches nothing); streams run on the real local model, asked to reason first.
"""

import openai
import pytest

from tests.model_studio_standin import ModelStudioStandIn
from utils.clients import DashScopeClient

THINKER, ALWAYS, NEVER = "qwen3-235b-a22b", "qwq-plus", "qwen-max-2025-01-25"
ASK = [{"role": "user", "content": "Which is larger, 9.11 or 9.8?"}]


def client(standin) -> openai.OpenAI:
    return DashScopeClient(base_url=standin.base_url, api_key=standin.api_key, max_retries=0)


def refused(standin, **request) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client(standin).chat.completions.create(**{"messages": ASK, **request})
    assert caught.value.body["code"] == "invalid_parameter_error"
    return caught.value


def test_thinking_on_a_model_that_cannot_think_is_refused_before_the_model(standin, backend):
    error = refused(standin, model=NEVER, stream=True, extra_body={"enable_thinking": True})
    assert "does not support thinking" in error.body["message"]
    assert backend.requests == []


def test_a_non_streaming_call_with_thinking_on_by_default_is_refused(standin, backend):
    error = refused(standin, model=THINKER)  # the open Qwen3 model thinks unless told not to
    assert error.body["message"] == (
        "parameter.enable_thinking must be set to false for non-streaming calls"
    )
    answer = client(standin).chat.completions.create(
        model=THINKER, messages=ASK, extra_body={"enable_thinking": False}
    )
    assert answer.choices[0].message.content == "scripted answer"
    assert len(backend.requests) == 1 and "enable_thinking" not in backend.requests[0]


def test_a_thinking_only_model_cannot_be_switched_off_and_only_streams(standin, backend):
    for extra in ({}, {"enable_thinking": False}):
        error = refused(standin, model=ALWAYS, extra_body=extra)
        assert error.body["message"].startswith("This model only support stream mode")
    assert backend.requests == []


def test_thinking_rules_out_json_mode(standin, backend):
    messages = [{"role": "user", "content": "Reply in JSON: is 9.8 larger than 9.11?"}]
    json_mode = {"type": "json_object"}
    error = refused(
        standin, model=THINKER, messages=messages, stream=True, response_format=json_mode
    )
    assert (
        error.body["message"] == "Json mode response is not supported when enable_thinking is true"
    )
    assert backend.requests == []
    client(standin).chat.completions.create(
        model=THINKER, messages=messages, response_format=json_mode,
        extra_body={"enable_thinking": False},
    )  # fmt: skip
    assert len(backend.requests) == 1


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"enable_thinking": "yes"}, "enable_thinking must be true or false"),
        ({"thinking_budget": 0}, "thinking_budget must be a positive integer"),
        ({"thinking_budget": "64"}, "thinking_budget must be a positive integer"),
    ],
)
def test_malformed_thinking_parameters_are_refused(standin, extra, says):
    assert says in refused(standin, model=THINKER, stream=True, extra_body=extra).body["message"]


def test_partial_mode_and_tools_are_refused_with_thinking(standin):
    partial = [*ASK, {"role": "assistant", "content": "9.", "partial": True}]
    assert (
        "partial mode"
        in refused(standin, model=THINKER, messages=partial, stream=True).body["message"]
    )
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert "tools" in refused(standin, model=THINKER, stream=True, tools=[tool]).body["message"]


def test_thoughts_sent_back_in_the_history_do_not_reach_the_model(standin, backend):
    history = [*ASK, {"role": "assistant", "content": "9.8", "reasoning_content": "9.80 > 9.11"}]
    client(standin).chat.completions.create(
        model=THINKER,
        messages=[*history, {"role": "user", "content": "Sure?"}],
        extra_body={"enable_thinking": False},
    )
    assert all("reasoning_content" not in m for m in backend.requests[0]["messages"])


# --- streams, on the real local model -------------------------------------------------------


@pytest.fixture(scope="module")
def live(local_settings):
    with ModelStudioStandIn(
        local_settings.base_url, local_settings.model, thinking_default=12
    ) as server:
        yield server


def thinking_stream(live, model=THINKER, **extra):
    return list(
        client(live).chat.completions.create(
            model=model, messages=ASK, stream=True, stream_options={"include_usage": True},
            max_tokens=6, temperature=0, extra_body=extra,
        )
    )  # fmt: skip


def phases(chunks) -> list[str]:
    """ "thought" or "answer" for every chunk that carried text, in order."""
    kinds = []
    for chunk in chunks:
        for choice in chunk.choices:
            if getattr(choice.delta, "reasoning_content", None):
                kinds.append("thought")
            if choice.delta.content:
                kinds.append("answer")
    return kinds


def test_a_thinking_stream_sends_its_thoughts_first_then_the_answer_then_usage(live):
    chunks = thinking_stream(live, thinking_budget=8)
    kinds = phases(chunks)
    assert kinds[0] == "thought" and "answer" in kinds
    assert kinds == sorted(kinds, key=lambda kind: kind == "answer")  # no thought after the answer
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    thought = usage.completion_tokens_details.reasoning_tokens
    assert 1 <= thought <= 8  # the budget caps the thoughts
    answer_tokens = usage.completion_tokens - thought
    assert 1 <= answer_tokens <= 6  # max_tokens caps the answer, not the thoughts


def test_without_a_budget_the_stand_in_thinks_at_most_its_default(live):
    usage = thinking_stream(live, model=ALWAYS)[-1].usage  # QwQ: thinks without being asked
    assert 1 <= usage.completion_tokens_details.reasoning_tokens <= live.thinking_default


def test_a_budget_on_a_model_that_ignores_it_is_dropped(live):
    before = len(live.requests)
    usage = thinking_stream(live, model=ALWAYS, thinking_budget=4)[-1].usage
    assert live.requests[before]["dropped"] == ["thinking_budget"]
    assert usage.completion_tokens_details.reasoning_tokens > 4  # up to the default, not 4


def test_thinking_switched_off_streams_a_plain_answer(live):
    chunks = thinking_stream(live, enable_thinking=False)
    assert set(phases(chunks)) == {"answer"}
    assert chunks[-1].usage.completion_tokens_details is None

"""Conversation: history, the messages really sent, token counting and budgeting."""

import openai
import pytest

from utils import get_client
from utils.conversation import (
    GENERATION_PROMPT,
    Conversation,
    ServerTokenCounter,
    UsageTokenCounter,
    token_counter_for,
)
from utils.flaky_server import FlakyStreamServer
from utils.settings import Secret, Settings

TURNS = [
    {"role": "user", "content": "My name is Ada and I live in Lisbon."},
    {"role": "assistant", "content": "Nice to meet you, Ada. Lisbon is a lovely city by the sea."},
    {"role": "user", "content": "I like green tea and long walks."},
    {"role": "assistant", "content": "Green tea and long walks make a calm afternoon."},
    {"role": "user", "content": "What is my name?"},
]


def offline_conversation(**options) -> Conversation:
    """A conversation whose budgeting needs no server (the estimate counter)."""
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused", max_retries=0)
    chat = Conversation(client, "m", counter=UsageTokenCounter(), **options)
    chat.turns = [dict(m) for m in TURNS]
    return chat


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi!"}],
        [{"role": "system", "content": "Answer in French."}, *TURNS],
    ],
)
def test_server_counter_matches_the_servers_usage(local_settings, messages):
    counter = token_counter_for(local_settings)
    assert isinstance(counter, ServerTokenCounter)
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model, messages=messages, max_tokens=1
    )
    assert counter.count(messages) == response.usage.prompt_tokens


def test_remote_backends_get_the_usage_calibrated_estimate():
    remote = Settings("dashscope", "https://example.invalid/v1", "qwen-max", Secret("k"), "test")
    assert isinstance(token_counter_for(remote), UsageTokenCounter)


def test_usage_counter_recalibrates_from_usage():
    counter = UsageTokenCounter()
    messages = [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 80}]
    assert counter.count(messages) == 10 + 20 + 2 * 5 + 3  # 4 characters per token at first
    counter.observe(messages, prompt_tokens=73)  # the server counted 60 content tokens
    assert counter.chars_per_token == 2.0
    assert counter.count(messages) == 73
    counter.observe(messages, prompt_tokens=5)  # nonsense usage is ignored
    assert counter.chars_per_token == 2.0


def test_everything_fits_in_a_large_budget():
    chat = offline_conversation(budget=1000, reply_tokens=100)
    assert chat.messages_to_send() == chat.messages


def test_truncation_drops_oldest_turns_and_keeps_system_and_question():
    chat = offline_conversation(budget=60, reply_tokens=20)
    sent = chat.messages_to_send()
    assert sent[0] == {"role": "system", "content": chat.system}
    assert sent[-1] == TURNS[-1] and sent[1]["role"] == "user"
    assert chat.counter.count(sent) + chat.reply_tokens <= chat.budget
    longer = sent[:1] + TURNS[-(len(sent) + 1) :]  # one more turn would not fit
    assert chat.counter.count(longer) + chat.reply_tokens > chat.budget


def test_a_message_too_long_for_the_budget_says_what_to_do():
    chat = offline_conversation(budget=30, reply_tokens=20)
    with pytest.raises(ValueError, match="Shorten them, lower reply_tokens or raise budget"):
        chat.messages_to_send()


def test_bad_settings_are_refused():
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused")
    with pytest.raises(ValueError, match="strategy"):
        Conversation(client, "m", strategy="forget")
    with pytest.raises(ValueError, match="no room"):
        Conversation(client, "m", budget=100, reply_tokens=100)
    with pytest.raises(ValueError, match="empty"):
        Conversation(client, "m").ask("   ")


def test_ask_keeps_history_and_truncates_within_budget(local_settings):
    chat = Conversation(
        get_client(local_settings),
        local_settings.model,
        budget=100,
        reply_tokens=24,
        counter=token_counter_for(local_settings),
        temperature=0,
    )
    for question in ["My name is Ada.", "I like green tea.", "What do I like?"]:
        assert chat.ask(question).strip()
    assert len(chat.turns) == 6 and [m["role"] for m in chat.turns[::2]] == ["user"] * 3
    assert chat.last_sent[0]["role"] == "system" and chat.last_sent[-1]["content"] == (
        "What do I like?"
    )
    assert chat.last_prompt_tokens == chat.counter.count(chat.last_sent)  # exact count
    assert chat.last_prompt_tokens + chat.reply_tokens <= chat.budget
    assert chat.left_out >= 2  # the first exchange no longer fits
    assert chat.left_out == len(chat.turns) - 1 - (len(chat.last_sent) - 1)
    table = chat.sent_table()
    assert list(table.role) == [m["role"] for m in chat.last_sent]
    header = chat.counter.count_text(GENERATION_PROMPT)  # "<|im_start|>assistant\n"
    assert table.tokens.sum() + header == chat.last_prompt_tokens
    assert f"budget {chat.budget}" in chat.report()
    chat.clear()
    assert chat.turns == [] and chat.last_sent == []


def test_summarise_folds_old_turns_into_a_summary(local_settings):
    chat = Conversation(
        get_client(local_settings),
        local_settings.model,
        budget=160,
        reply_tokens=24,
        counter=token_counter_for(local_settings),
        strategy="summarise",
        temperature=0,
    )
    for question in ["My name is Ada.", "I live in Lisbon.", "I like green tea.", "Who am I?"]:
        chat.ask(question)
    assert chat.summarised > 0 and chat.summary
    assert chat.last_sent[1]["content"].startswith("Summary of the earlier conversation:")
    assert chat.left_out == 0  # nothing silently lost: older turns are in the summary
    assert chat.counter.count(chat.last_sent) + chat.reply_tokens <= chat.budget


def test_a_broken_stream_keeps_its_partial_reply():
    with FlakyStreamServer(["Ada", " is", " your", " name."], drop_after=2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model)
        result = chat.stream("What is my name?")
        assert not result.complete
        assert chat.turns[-1] == {"role": "assistant", "content": "Ada is"}
    with FlakyStreamServer(["Ada"], drop_after=0) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model)
        chat.stream("What is my name?")
        assert chat.turns == []  # nothing arrived: the question can be sent again


def test_a_failed_request_leaves_the_history_as_it_was(fake_api):
    server = fake_api(500, {"error": {"message": "boom"}})
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    chat = Conversation(client, "m")
    with pytest.raises(openai.InternalServerError):
        chat.ask("Hello?")
    with pytest.raises(openai.InternalServerError):
        chat.stream("Hello?")
    assert chat.turns == []


def test_streamed_turns_send_the_conversation_options():
    with FlakyStreamServer(["Hi", "!"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model, reply_tokens=33, temperature=0.2)
        chat.stream("Hello", temperature=0.9)
        sent = server.requests[0]
    assert sent["max_tokens"] == 33 and sent["temperature"] == 0.9  # the override wins
    assert sent["messages"] == chat.last_sent and chat.turns[-1]["content"] == "Hi!"

"""Conversation: history, the messages really sent, token counting and budgeting."""

import functools
import signal
import threading

import openai
import pytest

from utils import get_client
from utils.conversation import (
    GENERATION_PROMPT,
    Conversation,
    QwenTokenCounter,
    ServerTokenCounter,
    UsageTokenCounter,
    token_counter_for,
)
from utils.loopback.flaky import FlakyStreamServer
from utils.settings import Secret, Settings
from utils.streaming import StreamInterrupted

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
        # No system message: SmolLM2's template adds its own default one, which counts too.
        [{"role": "user", "content": "Hi!"}],
    ],
)
def test_server_counter_matches_the_servers_usage(local_settings, messages):
    counter = token_counter_for(local_settings)
    assert isinstance(counter, ServerTokenCounter)
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model, messages=messages, max_tokens=1
    )
    assert counter.count(messages) == response.usage.prompt_tokens


def test_remote_backends_get_qwens_tokenizer_or_the_usage_calibrated_estimate():
    qwen = Settings("dashscope", "https://example.invalid/v1", "qwen-max", Secret("k"), "test")
    assert isinstance(token_counter_for(qwen), QwenTokenCounter)
    other = Settings("openai-compatible", "http://127.0.0.1:9/v1", "m", Secret("k"), "test")
    assert isinstance(token_counter_for(other), UsageTokenCounter)


def test_qwen_counter_counts_chatml_with_qwens_tokenizer():
    counter = QwenTokenCounter()
    system = {"role": "system", "content": "You are a helpful assistant."}
    # <|im_start|> system \n You are a helpful assistant . <|im_end|> \n
    assert counter.count_message(system) == 11
    assert counter.count_text(GENERATION_PROMPT) == 3  # <|im_start|> assistant \n
    assert (
        counter.count([system, TURNS[0]]) == sum(map(counter.count_message, [system, TURNS[0]])) + 3
    )


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


# Long enough that the history overflows the budgets below whatever the model answers: the
# tests must not hang on how long the tiny model's replies happen to be.
LONG_TEA = (
    "I like green tea with a little honey in the afternoon, strong black coffee without sugar "
    "early in the morning, and a glass of cold water with lemon after I run along the river "
    "on Sundays."
)
LONG_NAME = (
    "My name is Ada Lovelace. I was born in London in 1815, I studied mathematics with "
    "Augustus De Morgan, and I wrote the first published algorithm meant for a machine."
)
LONG_HOME = (
    "I live in Lisbon now, in a small flat near the river, and I walk to the old library "
    "every morning to read about the history of computing machines."
)


def _overflows(chat: Conversation, questions: list[str]) -> bool:
    """Would ``questions`` with empty replies between them be over the budget?"""
    messages = [{"role": "system", "content": chat.system}]
    for question in questions:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
    return not chat._fits(messages[:-1])


def test_ask_keeps_history_and_truncates_within_budget(local_settings):
    chat = Conversation(
        get_client(local_settings),
        local_settings.model,
        budget=90,
        reply_tokens=24,
        counter=token_counter_for(local_settings),
        temperature=0,
    )
    questions = ["My name is Ada.", LONG_TEA, "What do I like?"]
    assert _overflows(chat, questions[1:])  # so the first exchange cannot fit, however short
    for question in questions:
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
    questions = [LONG_NAME, LONG_HOME, LONG_TEA, "Who am I?"]
    assert _overflows(chat, questions)  # so something must be summarised, however short
    for question in questions:
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


def test_ctrl_c_during_a_stream_leaves_the_history_as_it_was():
    with FlakyStreamServer(["Ada", " is", " your", " name."], delay=0.01) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model)
        chat.stream("My name is Ada.")

        def press_stop(text):
            if text == "Ada is":
                raise KeyboardInterrupt

        with pytest.raises(StreamInterrupted) as stopped:
            chat.stream("What is my name?", on_text=press_stop)
        assert stopped.value.result.text == "Ada is"  # the partial reply is not lost
        assert [m["content"] for m in chat.turns] == ["My name is Ada.", "Ada is your name."]
        assert chat.pending is None
        chat.stream("What is my name?")  # the next request has one user turn at its end
        roles = [m["role"] for m in server.requests[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_ctrl_c_while_waiting_for_an_answer_leaves_the_history_as_it_was(fake_api):
    server = fake_api(200, {}, delay=3.0)  # a server that takes its time
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    chat = Conversation(client, "m")
    # Ctrl-C, half a second in: a real SIGINT to the main thread, so it lands in the blocked read
    # (interrupt_main only sets a flag, acted on at whatever Python line runs next, maybe a
    # finaliser that swallows it)
    ctrl_c = functools.partial(signal.pthread_kill, threading.main_thread().ident, signal.SIGINT)
    timer = threading.Timer(0.5, ctrl_c)
    # Python's own Ctrl-C, whatever ran before (in one random order of the suite it did nothing)
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            chat.ask("Hello?")
    finally:
        timer.cancel()
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, handler)
    assert chat.turns == [] and chat.pending is None and chat.last_sent == []


def test_left_out_is_right_while_a_reply_streams():
    seen = []
    with FlakyStreamServer(["Hi", " there", "!"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model, budget=1000, reply_tokens=100)

        def watch(text):
            seen.append((text, chat.left_out, chat.pending["content"], len(chat.turns)))

        chat.stream("Hello", on_text=watch)
        chat.stream("Again", on_text=watch)
    assert [s[0] for s in seen][:2] == ["", "Hi"]  # "" once the request is built
    assert all(left_out == 0 for _, left_out, _, _ in seen)  # everything fits
    assert {(q, n) for _, _, q, n in seen} == {("Hello", 0), ("Again", 2)}
    assert chat.left_out == 0 and chat.pending is None and len(chat.turns) == 4


def test_a_failed_request_leaves_the_history_as_it_was(fake_api):
    server = fake_api(500, {"error": {"message": "boom"}})
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    chat = Conversation(client, "m")
    with pytest.raises(openai.InternalServerError):
        chat.ask("Hello?")
    with pytest.raises(openai.InternalServerError):
        chat.stream("Hello?")
    assert chat.turns == [] and chat.pending is None


def test_streamed_turns_send_the_conversation_options():
    with FlakyStreamServer(["Hi", "!"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        chat = Conversation(client, server.model, reply_tokens=33, temperature=0.2)
        chat.stream("Hello", temperature=0.9)
        sent = server.requests[0]
    assert sent["max_tokens"] == 33 and sent["temperature"] == 0.9  # the override wins
    assert sent["messages"] == chat.last_sent and chat.turns[-1]["content"] == "Hi!"

"""log p(response | prompt) in process: common sense, and the same tokens the server reads."""

import numpy as np
import pytest

from tests.served_logprobs import assert_agrees
from utils import get_client
from utils.rlhf import (
    chat_prompt,
    next_token_logprobs,
    response_tokens,
    sequence_logprob,
    served_model,
    token_logprobs,
)
from utils.rlhf.logprobs import encode


def test_paris_beats_berlin():
    prompt = "The capital of France is"
    assert sequence_logprob(prompt, "Paris") > sequence_logprob(prompt, "Berlin")


def test_sequence_is_the_sum_of_its_tokens_and_rows_are_distributions():
    prompt, response = "Name a colour.", "Blue is a calm colour."
    per_token = token_logprobs(prompt, response)
    assert len(per_token) == len(response_tokens(response)) == 6
    assert (per_token < 0).all()
    assert sequence_logprob(prompt, response) == pytest.approx(per_token.sum())
    rows = next_token_logprobs(prompt, response)
    assert rows.shape == (len(per_token), 49152)
    assert np.exp(rows).sum(axis=1) == pytest.approx(np.ones(len(per_token)))
    _, ids = encode(prompt, response)
    assert np.array_equal(rows[np.arange(len(ids)), ids], per_token)


def test_it_is_deterministic_and_depends_on_the_prompt():
    a = sequence_logprob("Say hello.", "Hello!")
    assert sequence_logprob("Say hello.", "Hello!") == a
    messages = [
        {"role": "system", "content": "Only ever answer in French."},
        {"role": "user", "content": "Say hello."},
    ]
    assert sequence_logprob(messages, "Hello!") != a


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        sequence_logprob("Hi", "")
    with pytest.raises(ValueError, match="Shorten"):
        sequence_logprob("word " * 2000, "x")
    with pytest.raises(ValueError, match="role"):
        sequence_logprob([{"content": "no role"}], "x")


def test_response_tokens_keep_characters_split_across_tokens():
    # the emoji takes three byte-level tokens; none of them is a character on its own
    assert response_tokens("Hello 🍵") == ["Hello", " \ufffd", "\ufffd", "\ufffd"]
    assert response_tokens("Hello world") == ["Hello", " world"]


def test_prompt_is_built_as_the_server_builds_it(local_settings):
    messages = [{"role": "user", "content": "What is 2 + 3?"}]
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model, messages=messages, max_tokens=1, temperature=0
    )
    ours = served_model.tokenize(chat_prompt(messages), special=True)
    assert response.usage.prompt_tokens == len(ours)
    assert chat_prompt(messages).endswith(
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("question", ["What is the capital of France?", "Write a haiku about tea."])
def test_agrees_with_the_chat_endpoints_greedy_logprobs(local_settings, question):
    messages = [{"role": "user", "content": question}]
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model,
        messages=messages,
        temperature=0,
        max_tokens=30,
        logprobs=True,
        top_logprobs=1,
        extra_body={"repeat_penalty": 1.0},  # the server's default 1.1 would change the choice
    )
    choice = response.choices[0]
    tokens = choice.logprobs.content
    if choice.finish_reason == "stop":
        tokens = tokens[:-1]  # the end-of-turn token, not part of the text
    server = np.array([t.logprob for t in tokens])
    ours = token_logprobs(messages, choice.message.content)
    # the text, tokenized again, is the very token sequence the server generated
    assert encode(messages, choice.message.content)[1] == [t.id for t in tokens]
    assert_agrees(ours, server)

"""log p(response | prompt) in-process, checked against common sense and the chat endpoint.

Measured tolerance: the in-process model scores prompt + response in one batch, the server
generates one token at a time; on 4-bit weights the two orders of arithmetic differ by up to
~0.15 nats on a token (largest seen: 0.17). Sums over ~30 tokens agreed within 0.6 nats (2 %).
"""

import numpy as np
import pytest

from utils import get_client
from utils.rlhf import (
    chat_prompt,
    next_token_logprobs,
    response_tokens,
    sample_response,
    sequence_logprob,
    token_logprobs,
)
from utils.rlhf.local_model import logits_model

TOKEN_TOLERANCE = 0.3  # nats, per token
SUM_TOLERANCE = 0.05  # relative, on the whole sequence (plus 0.5 nats absolute)


def test_paris_beats_berlin():
    prompt = "The capital of France is"
    assert sequence_logprob(prompt, "Paris") > sequence_logprob(prompt, "Berlin")


def test_sequence_is_the_sum_of_its_tokens_and_rows_are_distributions():
    prompt, response = "Name a colour.", "Blue is a calm colour."
    per_token = token_logprobs(prompt, response)
    assert len(per_token) == len(response_tokens(response))
    assert (per_token < 0).all()
    assert sequence_logprob(prompt, response) == pytest.approx(per_token.sum())
    rows = next_token_logprobs(prompt, response)
    assert rows.shape == (len(per_token), 49152)
    assert np.exp(rows).sum(axis=1) == pytest.approx(np.ones(len(per_token)))


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


def test_prompt_is_built_as_the_server_builds_it(local_settings):
    messages = [{"role": "user", "content": "What is 2 + 3?"}]
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model, messages=messages, max_tokens=1, temperature=0
    )
    ours = logits_model().tokenize(chat_prompt(messages).encode(), add_bos=False, special=True)
    assert response.usage.prompt_tokens == len(ours)


@pytest.mark.parametrize("question", ["What is the capital of France?", "Write a haiku about tea."])
def test_agrees_with_the_chat_endpoints_greedy_logprobs(local_settings, question):
    messages = [{"role": "user", "content": question}]
    response = get_client(local_settings).chat.completions.create(
        model=local_settings.model,
        messages=messages,
        temperature=0,
        max_tokens=30,
        logprobs=True,
        top_logprobs=1,  # llama-cpp-python returns no logprobs without it
        extra_body={"repeat_penalty": 1.0},  # the server's default 1.1 would change the choice
    )
    choice = response.choices[0]
    server = np.array([t.logprob for t in choice.logprobs.content])
    ours = token_logprobs(messages, choice.message.content)
    assert len(ours) == len(server)  # the same tokens, re-tokenized from the text
    assert np.abs(ours - server).max() < TOKEN_TOLERANCE
    assert abs(ours.sum() - server.sum()) < SUM_TOLERANCE * abs(server.sum()) + 0.5


def test_sample_response_draws_from_the_models_own_distribution():
    prompt = "Name a colour."
    assert sample_response(prompt, max_tokens=8, seed=3) == sample_response(
        prompt, max_tokens=8, seed=3
    )
    # the first token's frequency over many seeds matches its probability under the model
    first = next_token_logprobs(prompt, "x")[0]  # the distribution before any response token
    top = int(np.argmax(first))
    draws = [sample_response(prompt, max_tokens=1, seed=s) for s in range(120)]
    hits = sum(logits_model().tokenize(d.encode(), add_bos=False)[:1] == [top] for d in draws if d)
    p = float(np.exp(first[top]))
    assert abs(hits / len(draws) - p) < 4 * np.sqrt(p * (1 - p) / len(draws)) + 0.02

"""log p(response | prompt) from the local model, computed in this process with numpy.

The prompt goes through the model's own chat template and the response is appended as
plain text, both tokenized by the local server (``utils.rlhf.served_model``); one forward
pass over prompt + response (``utils.rlhf.forward``) then gives, at every response token,
the model's distribution over the next token.

Numbers to expect: the server's llama.cpp rounds activations to 8 bits before multiplying
them by the quantised weights; numpy computes in float32 on the same weights, dequantised.
``tests/test_rlhf_forward.py`` bounds the gap on greedy answers, per token and on the sum.
"""

from __future__ import annotations

import numpy as np

from utils.rlhf import served_model
from utils.rlhf.forward import MAX_TOKENS, forward, logits
from utils.rlhf.toy_policy import log_softmax

Prompt = str | list[dict]


def as_messages(prompt: Prompt) -> list[dict]:
    """A prompt as chat messages: a string becomes one user message."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if not prompt or not all(isinstance(m, dict) and "role" in m for m in prompt):
        raise ValueError("prompt must be a string or a non-empty list of {'role', 'content'} dicts")
    return list(prompt)


def chat_prompt(prompt: Prompt) -> str:
    """The text the model reads for ``prompt``: its chat template, ending where the answer starts."""
    return served_model.chat_prompt(as_messages(prompt))


def encode(prompt: Prompt, response: str) -> tuple[list[int], list[int]]:
    """Token ids of the templated prompt and of the response, as the server would read them."""
    prompt_ids = served_model.tokenize(chat_prompt(prompt), special=True)
    response_ids = served_model.tokenize(response, special=False)
    if not response_ids:
        raise ValueError("response is empty: there is nothing to score")
    if len(prompt_ids) + len(response_ids) > MAX_TOKENS:
        raise ValueError(
            f"prompt + response is {len(prompt_ids) + len(response_ids)} tokens; the numpy "
            f"forward pass takes at most {MAX_TOKENS}. Shorten them."
        )
    return prompt_ids, response_ids


def response_tokens(response: str) -> list[str]:
    """The response as the model's tokens (text pieces), in the order they are scored."""
    return served_model.pieces(response)


def _scores(prompt_ids: list[int], response_ids: list[int]) -> np.ndarray:
    weights = served_model.weights()
    # the last token needs no prediction; row t predicts token t + 1, so the rows that
    # predict the response start at the prompt's last token
    hidden = forward(weights, prompt_ids + response_ids[:-1])
    return log_softmax(logits(weights, hidden[len(prompt_ids) - 1 :]))


def next_token_logprobs(prompt: Prompt, response: str) -> np.ndarray:
    """Full log-distributions over the vocabulary before each response token: shape (T, V)."""
    return _scores(*encode(prompt, response))


def token_logprobs(prompt: Prompt, response: str) -> np.ndarray:
    """log p(token_t | prompt, tokens before t) for each response token: shape (T,)."""
    prompt_ids, response_ids = encode(prompt, response)
    rows = _scores(prompt_ids, response_ids)
    return rows[np.arange(len(response_ids)), response_ids]


def sequence_logprob(prompt: Prompt, response: str) -> float:
    """log p(response | prompt) under the local model: the sum of its token log-probs."""
    return float(token_logprobs(prompt, response).sum())

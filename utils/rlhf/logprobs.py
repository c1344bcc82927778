"""log p(response | prompt) from the local model, computed in this process with llama.cpp.

The server's ``echo`` prompt log-probs were wrong in a probe, so we load the same GGUF with
``llama_cpp.Llama(logits_all=True)``, build the prompt with the model's own chat template
exactly as the server does, and read the log-probability of every response token.

Numbers to expect: this evaluates prompt + response in one batch; the server generates one
token at a time. On 4-bit weights the two orders of arithmetic differ by up to ~0.15 nats on
a single token (measured), so a sequence log-prob agrees with the chat endpoint's summed
``logprobs`` to within a few percent, not exactly (see ``tests/test_rlhf_logprobs.py``).
"""

from __future__ import annotations

import numpy as np

from utils.rlhf.local_model import N_CTX, chat_template, logits_model

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
    return chat_template()(messages=as_messages(prompt)).prompt


def _tokens(prompt: Prompt, response: str) -> tuple[list[int], list[int]]:
    llama = logits_model()
    # The server tokenizes the templated prompt with special tokens on and no extra BOS.
    prompt_ids = llama.tokenize(chat_prompt(prompt).encode("utf-8"), add_bos=False, special=True)
    response_ids = llama.tokenize(response.encode("utf-8"), add_bos=False, special=False)
    if not response_ids:
        raise ValueError("response is empty: there is nothing to score")
    if len(prompt_ids) + len(response_ids) > N_CTX:
        raise ValueError(
            f"prompt + response is {len(prompt_ids) + len(response_ids)} tokens; "
            f"the in-process model holds {N_CTX}. Shorten them."
        )
    return prompt_ids, response_ids


def response_tokens(response: str) -> list[str]:
    """The response as the model's tokens (text pieces), in the order they are scored."""
    llama = logits_model()
    ids = llama.tokenize(response.encode("utf-8"), add_bos=False, special=False)
    return [llama.detokenize([i]).decode("utf-8", errors="replace") for i in ids]


def next_token_logprobs(prompt: Prompt, response: str) -> np.ndarray:
    """Full log-distributions over the vocabulary before each response token: shape (T, V)."""
    llama = logits_model()
    prompt_ids, response_ids = _tokens(prompt, response)
    llama.reset()
    llama.eval(prompt_ids + response_ids)
    # row i predicts token i + 1, so the rows that predict the response start one earlier
    start = len(prompt_ids) - 1
    logits = np.array(llama.scores[start : start + len(response_ids)], dtype=np.float64)
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


def token_logprobs(prompt: Prompt, response: str) -> np.ndarray:
    """log p(token_t | prompt, tokens before t) for each response token: shape (T,)."""
    _, response_ids = _tokens(prompt, response)
    rows = next_token_logprobs(prompt, response)
    return rows[np.arange(len(response_ids)), response_ids]


def sequence_logprob(prompt: Prompt, response: str) -> float:
    """log p(response | prompt) under the local model: the sum of its token log-probs."""
    return float(token_logprobs(prompt, response).sum())

"""Features for a reward model: the local model's hidden states, mean-pooled, via llama.cpp.

A reward model is a language model with a scalar head. Training the whole network is out of
reach on a CPU, so we freeze it: llama.cpp's embedding mode gives the average of the last
hidden layer over a conversation's tokens (576 numbers for SmolLM2-135M), and
``utils.rlhf.reward_model`` trains a linear head on top.
"""

from __future__ import annotations

import numpy as np

from utils.rlhf.local_model import N_CTX, embedding_model
from utils.rlhf.logprobs import as_messages


def conversation_text(prompt: str | list[dict], response: str) -> str:
    """Prompt and response as one plain transcript, the text the reward model reads.

    HH-RLHF's own format ("Human: ... Assistant: ..."). Not the chat template: llama.cpp's
    embedding call reads ``<|im_start|>`` as plain text, not as the special token.
    """
    speakers = {"user": "Human", "assistant": "Assistant", "system": "System"}
    messages = as_messages(prompt) + [{"role": "assistant", "content": response}]
    return "\n\n".join(f"{speakers[m['role']]}: {m['content']}" for m in messages)


def embed(texts: list[str]) -> np.ndarray:
    """Mean-pooled last-layer features of each text: shape (len(texts), 576)."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of texts; wrap a single text as [text]")
    llama = embedding_model()
    rows = []
    for text in texts:  # one at a time: every text gets the context window to itself
        n_tokens = len(llama.tokenize(text.encode("utf-8")))
        if n_tokens > N_CTX:
            raise ValueError(f"a text is {n_tokens} tokens; the embedding model holds {N_CTX}")
        rows.append(llama.embed(text, normalize=False))
    return np.array(rows, dtype=np.float64)


def embed_conversations(prompts: list, responses: list[str]) -> np.ndarray:
    """Features of each (prompt, response) conversation: shape (len(responses), 576)."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    return embed([conversation_text(p, r) for p, r in zip(prompts, responses, strict=True)])

"""Features for a reward model: the local model's hidden state at a conversation's final token.

A reward model is a language model with a scalar head that reads the final hidden state at
the conversation's last token: Hugging Face's ``LlamaForSequenceClassification`` and
``Qwen2ForSequenceClassification`` (what TRL's ``RewardTrainer`` fine-tunes) do exactly this.
Causal attention means only that position has read the whole conversation. Training the whole network is out of reach on a
CPU, so we freeze it: ``utils.rlhf.forward`` gives that hidden state (576 numbers for
SmolLM2-135M), and ``utils.rlhf.reward_model`` trains a linear head on top.
"""

from __future__ import annotations

import numpy as np

from utils.rlhf import local_model
from utils.rlhf.forward import forward
from utils.rlhf.logprobs import Prompt, chat_prompt


def conversation_text(prompt: Prompt, response: str) -> str:
    """The whole conversation as the model reads it: chat template, response, end-of-turn token."""
    return chat_prompt(prompt) + response + local_model.end_of_turn()


def embed(texts: list[str]) -> np.ndarray:
    """The final token's last-layer hidden state for each text: shape (len(texts), n_embd).

    Special tokens in the text (``<|im_start|>``, ``<|im_end|>``) are read as such.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of texts; wrap a single text as [text]")
    weights = local_model.weights()
    rows = []
    for text in texts:  # one forward pass each: no padding to think about
        ids = local_model.tokenize(text, special=True)
        rows.append(forward(weights, ids)[-1])
    return np.array(rows, dtype=np.float64).reshape(len(rows), weights.config.n_embd)


def embed_conversations(prompts: list, responses: list[str]) -> np.ndarray:
    """Features of each (prompt, response) conversation: shape (len(responses), n_embd)."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    return embed([conversation_text(p, r) for p, r in zip(prompts, responses, strict=True)])

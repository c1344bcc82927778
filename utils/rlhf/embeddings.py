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

from utils.rlhf import served_model
from utils.rlhf.forward import KVCache, forward
from utils.rlhf.logprobs import Prompt, chat_prompt


def conversation_text(prompt: Prompt, response: str) -> str:
    """The whole conversation as the model reads it: chat template, response, end-of-turn token."""
    return chat_prompt(prompt) + response + served_model.end_of_turn()


PASS_TOKENS = 256  # new tokens per pass: fewer re-read the weights too often, more cost attention


def shared_start(a: list[int], b: list[int]) -> int:
    """How many tokens two token lists share at their start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _passes(token_lists: list[list[int]], order: list[int]) -> list[list[int]]:
    """``order`` cut into runs of texts whose new tokens fit one forward pass."""
    runs, run, size, previous = [], [], 0, []
    for i in order:
        new = len(token_lists[i]) - shared_start(previous, token_lists[i])
        if run and size + new > PASS_TOKENS:
            runs.append(run)
            run, size = [], 0
        run.append(i)
        size += new
        previous = token_lists[i]
    return runs + [run] if run else runs


def embed(texts: list[str]) -> np.ndarray:
    """The final token's last-layer hidden state for each text: shape (len(texts), n_embd).

    Special tokens in the text (``<|im_start|>``, ``<|im_end|>``) are read as such. The
    result is what ``forward`` gives each text read alone (``tests/test_rlhf_shared_reading.py``);
    only the work is shared. Texts are taken in sorted token order, so texts that begin
    alike sit side by side: their shared start (the chat template, one prompt with two
    answers) is read once, and several texts are read in one pass, each token seeing only
    the tokens of its own text. A text given twice is read once, so both get the same row.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of texts; wrap a single text as [text]")
    distinct: dict[tuple[int, ...], int] = {}  # token ids -> row of their features
    rows_of = [
        distinct.setdefault(tuple(served_model.tokenize(text, special=True)), len(distinct))
        for text in texts
    ]
    return _read([list(ids) for ids in distinct])[rows_of]


def _read(token_lists: list[list[int]]) -> np.ndarray:
    """The final token's last-layer hidden state for each token list, sharing starts and passes."""
    weights = served_model.weights()
    rows = np.zeros((len(token_lists), weights.config.n_embd))
    cache, cached = KVCache(), []  # cached: the token ids the cache holds
    for run in _passes(token_lists, sorted(range(len(token_lists)), key=token_lists.__getitem__)):
        # what every text of the run shares with the cache (at least one token each is read)
        base = min(min(shared_start(cached, token_lists[i]), len(token_lists[i]) - 1) for i in run)
        cache.keep(range(base))
        # the run's own tokens after `base`, each once; paths[i]: where text i's tokens sit
        ids, positions, paths, previous = [], [], {}, (cached[:base], [])
        for i in run:
            tokens = token_lists[i]
            same = min(max(shared_start(previous[0], tokens), base), len(tokens) - 1)
            path = previous[1][: same - base]  # the tokens it shares with the text before it
            for position in range(same, len(tokens)):  # then its own
                path.append(len(ids))
                ids.append(tokens[position])
                positions.append(position)
            paths[i], previous = path, (tokens, path)
        # each token sees the cached start and the tokens of its own text up to itself
        sees = np.zeros((len(ids), base + len(ids)), dtype=bool)
        sees[:, :base] = True
        for path in paths.values():
            sees[np.ix_(path, [base + n for n in path])] |= np.tri(len(path), dtype=bool)
        hidden = forward(weights, ids, cache, positions=positions, sees=sees)
        for i in run:
            rows[i] = hidden[paths[i][-1]]
        last = run[-1]  # keep the last text's tokens cached: the next run starts near it
        cache.keep([*range(base), *(base + n for n in paths[last])])
        cached = token_lists[last]
    return rows


def embed_conversations(prompts: list, responses: list[str]) -> np.ndarray:
    """Features of each (prompt, response) conversation: shape (len(responses), n_embd)."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    return embed([conversation_text(p, r) for p, r in zip(prompts, responses, strict=True)])


def embed_pairs(pairs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Features of each pair's chosen and rejected conversation: two (len(pairs), n_embd) arrays.

    ``pairs`` have ``prompt``, ``chosen`` and ``rejected`` (``load_mild_hh_pairs``,
    ``gsm8k_consistency_pairs``). Both replies are read in one call, so each prompt is read once.
    """
    prompts = [pair["prompt"] for pair in pairs]
    replies = [pair["chosen"] for pair in pairs] + [pair["rejected"] for pair in pairs]
    both = embed_conversations(prompts + prompts, replies)
    return both[: len(pairs)], both[len(pairs) :]

"""Reward-model features (llama.cpp embedding mode) and the mild HH-RLHF preference pairs."""

import re

import numpy as np
import pytest

from utils.datasets import load_hh_rlhf
from utils.rlhf import conversation_text, embed, embed_conversations, load_mild_hh_pairs
from utils.rlhf.preferences import MILD_HH_INDICES, preference_pair


def test_embeddings_shape_determinism_and_sense():
    texts = [
        "The cat sat on the mat.",
        "A kitten rested on the rug.",
        "Quarterly tax filing deadlines.",
    ]
    features = embed(texts)
    assert features.shape == (3, 576)
    assert np.array_equal(embed(texts[:1])[0], features[0])  # same text, same features

    def cosine(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    assert cosine(features[0], features[1]) > cosine(features[0], features[2])


def test_embed_wants_a_list():
    with pytest.raises(TypeError, match="list"):
        embed("one text")


def test_conversation_text_and_features():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    assert (
        conversation_text(messages, "See you")
        == "Human: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: See you"
    )
    assert conversation_text("Hi", "Hello") == "Human: Hi\n\nAssistant: Hello"
    assert embed_conversations(["Hi", "Hi"], ["Hello", "Go away"]).shape == (2, 576)
    with pytest.raises(ValueError, match="2 prompts but 1"):
        embed_conversations(["Hi", "Hi"], ["Hello"])


def test_mild_pairs_are_well_formed():
    pairs = load_mild_hh_pairs()
    assert len(pairs) == len(MILD_HH_INDICES) == len(set(MILD_HH_INDICES))
    for pair in pairs:
        assert pair["prompt"][-1]["role"] == "user"
        assert sum(m["role"] == "user" for m in pair["prompt"]) <= 2
        assert pair["chosen"] != pair["rejected"]


def test_mild_pairs_stay_mild():
    strong = re.compile(
        r"\b(kill|murder|rape|sex|porn|nude|drug|cocaine|meth|bomb|gun|weapon|slur|nigg|fuck|shit|cunt|suicid|torture)",
        re.I,
    )
    for pair in load_mild_hh_pairs():
        text = " ".join([*(m["content"] for m in pair["prompt"]), pair["chosen"], pair["rejected"]])
        assert not strong.search(text), pair["index"]


def test_preference_pair_rejects_transcripts_that_differ_early():
    row = {"chosen": "\n\nHuman: A\n\nAssistant: B", "rejected": "\n\nHuman: C\n\nAssistant: D"}
    with pytest.raises(ValueError, match="share every turn"):
        preference_pair(row)
    assert preference_pair(load_hh_rlhf()[MILD_HH_INDICES[0]])["prompt"][0]["role"] == "user"

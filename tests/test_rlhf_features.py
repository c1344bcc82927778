"""Reward-model features (the final token's hidden state) and the mild HH-RLHF preference pairs."""

import re

import numpy as np
import pytest

from utils.datasets import load_hh_rlhf
from utils.rlhf import (
    chat_prompt,
    conversation_text,
    embed,
    embed_conversations,
    load_mild_hh_pairs,
    next_token_logprobs,
    served_model,
)
from utils.rlhf.forward import forward, logits
from utils.rlhf.preferences import MILD_HH_INDICES, preference_pair
from utils.rlhf.toy_policy import log_softmax


def test_features_are_the_final_tokens_hidden_state():
    texts = [
        "The cat sat on the mat.",
        "A kitten rested on the rug.",
        "Quarterly tax filing deadlines.",
    ]
    features = embed(texts)
    assert features.shape == (3, 576)
    # read alone or beside others (one pass, see embed): the same features, to float32 rounding
    assert np.allclose(embed(texts[:1])[0], features[0], atol=2e-4)
    ids = served_model.tokenize(texts[2], special=True)
    assert np.allclose(features[2], forward(served_model.weights(), ids)[-1], atol=2e-4)
    # the state the reward head reads is the one the model predicts the next token from
    prompt = "Name a colour."
    state = embed([chat_prompt(prompt)])[0].astype(np.float32)
    predicted = log_softmax(logits(served_model.weights(), state[None]))[0]
    assert np.allclose(predicted, next_token_logprobs(prompt, "Blue")[0], atol=1e-5)


def test_the_final_token_has_read_the_whole_conversation():
    a, b = embed_conversations(["Hi", "Hey"], ["Hello", "Hello"])  # only the first word differs
    assert not np.allclose(a, b)


def test_embed_wants_a_list():
    with pytest.raises(TypeError, match="list"):
        embed("one text")


def test_conversation_text_and_features():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    text = conversation_text(messages, "See you")
    assert text == chat_prompt(messages) + "See you<|im_end|>"
    assert text.endswith(
        "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nSee you<|im_end|>"
    )
    assert served_model.tokenize(text, special=True)[-1] == 2  # <|im_end|> as one token
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


def test_gsm8k_consistency_pairs_differ_only_in_the_stated_answer():
    from utils.datasets import load_gsm8k
    from utils.rlhf.preferences import gsm8k_consistency_pairs, solution_text

    rows = load_gsm8k()
    pairs = gsm8k_consistency_pairs(30)
    assert len(pairs) == 30 and len({p["index"] for p in pairs}) == 30
    assert gsm8k_consistency_pairs(30) == pairs  # they repeat
    for pair in pairs:
        row = rows[pair["index"]]
        assert pair["prompt"] == [{"role": "user", "content": row["question"]}]
        assert pair["chosen"] == solution_text(row["answer"]) and "<<" not in pair["chosen"]
        working, right = pair["chosen"].rsplit("Answer: ", 1)
        working_r, wrong = pair["rejected"].rsplit("Answer: ", 1)
        assert working == working_r  # every line of working is kept
        assert float(right.replace(",", "")) == row["final_answer"] != float(wrong)
    assert solution_text("2 + 2 = <<2+2=4>>4\n#### 4") == "2 + 2 = 4\nAnswer: 4"

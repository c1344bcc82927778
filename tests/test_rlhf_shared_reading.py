"""Reading shared starts once: the key/value cache, several texts in one pass, packed features.

Each shortcut must give what reading every text alone gives: the cache and the packing only
share work, they never change a hidden state (beyond float32 rounding).
"""

import numpy as np
import pytest

from utils.rlhf import embed, embed_conversations, embed_pairs, served_model
from utils.rlhf import embeddings as embeddings_module
from utils.rlhf.embeddings import shared_start
from utils.rlhf.forward import KVCache, causal, forward

ATOL = 2e-4  # float32 rounding of products in another order (hidden states reach ~30)


def ids_of(text):
    return served_model.tokenize(text, special=True)


def test_causal_mask_lets_a_token_see_the_cache_and_itself():
    assert causal(2).tolist() == [[True, False], [True, True]]
    assert causal(2, 3).tolist() == [
        [True, True, True, True, False],
        [True, True, True, True, True],
    ]


def test_a_cache_continues_a_text_exactly():
    weights = served_model.weights()
    ids = ids_of("Grace Hopper wrote the first compiler, and she kept a nanosecond of wire.")
    whole = forward(weights, ids)
    cache = KVCache()
    first = forward(weights, ids[:6], cache)
    assert len(cache) == 6 and np.allclose(first, whole[:6], atol=ATOL)
    rest = forward(weights, ids[6:], cache)
    assert len(cache) == len(ids) and np.allclose(rest, whole[6:], atol=ATOL)
    cache.keep(range(6))  # back to the shared start, then another ending
    other = ids_of("Grace Hopper wrote the first compiler in 1952.")
    assert other[:6] == ids[:6]
    assert np.allclose(forward(weights, other[6:], cache), forward(weights, other)[6:], atol=ATOL)


def test_positions_and_sees_read_two_texts_side_by_side():
    weights = served_model.weights()
    a, b = ids_of("Tea is a drink."), ids_of("Coffee keeps me awake.")
    sees = np.zeros((len(a) + len(b),) * 2, dtype=bool)
    sees[: len(a), : len(a)] = np.tri(len(a), dtype=bool)
    sees[len(a) :, len(a) :] = np.tri(len(b), dtype=bool)
    both = forward(weights, a + b, positions=[*range(len(a)), *range(len(b))], sees=sees)
    assert np.allclose(both[: len(a)], forward(weights, a), atol=ATOL)
    assert np.allclose(both[len(a) :], forward(weights, b), atol=ATOL)


def test_shared_start():
    assert shared_start([1, 2, 3], [1, 2, 4]) == 2
    assert shared_start([], [1]) == 0
    assert shared_start([5, 6], [5, 6, 7]) == 2


@pytest.mark.parametrize("pass_tokens", [1, 24, 256])
def test_packed_features_equal_reading_each_text_alone(monkeypatch, pass_tokens):
    monkeypatch.setattr(embeddings_module, "PASS_TOKENS", pass_tokens)
    weights = served_model.weights()
    texts = [
        "<|im_start|>user\nHow do I boil an egg?<|im_end|>\n<|im_start|>assistant\nIn water.<|im_end|>",
        "<|im_start|>user\nHow do I boil an egg?<|im_end|>\n<|im_start|>assistant\nSlowly.<|im_end|>",
        "<|im_start|>user\nHow do I fry an egg?<|im_end|>\n<|im_start|>assistant\nIn oil.<|im_end|>",
        "Hello",  # a text that is the start of another
        "Hello there",
        "Hello",  # the same text twice
        "Zebras",  # shares nothing with the others
    ]
    alone = np.array([forward(weights, ids_of(t))[-1] for t in texts])
    packed = embed(texts)
    assert packed.shape == (len(texts), 576)
    assert np.allclose(packed, alone, atol=ATOL)
    assert np.array_equal(packed[3], packed[5])  # read once: no second rounding of it


def test_a_text_given_twice_is_read_once(monkeypatch):
    read = []

    def counting_forward(weights, ids, *args, **kwargs):
        read.extend(ids)
        return forward(weights, ids, *args, **kwargs)

    monkeypatch.setattr(embeddings_module, "forward", counting_forward)
    once = embed(["Hello there", "Zebras"])
    tokens_once = len(read)
    read.clear()
    twice = embed(["Zebras", "Hello there", "Zebras", "Hello there"])
    assert len(read) == tokens_once
    assert np.array_equal(twice, once[[1, 0, 1, 0]])


def test_embed_pairs_reads_both_replies_of_each_pair():
    pairs = [
        {"prompt": "Name a fruit.", "chosen": "An apple.", "rejected": "A chair."},
        {
            "prompt": [{"role": "user", "content": "Name a colour."}],
            "chosen": "Red.",
            "rejected": "Soup.",
        },
    ]
    chosen, rejected = embed_pairs(pairs)
    assert chosen.shape == rejected.shape == (2, 576)
    one_by_one = embed_conversations(["Name a colour."], ["Soup."])[0]
    assert np.allclose(rejected[1], one_by_one, atol=ATOL)

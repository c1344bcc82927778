"""Notebook 11's self-checks accept right answers and explain wrong ones."""

import numpy as np

from utils.exercises import nb11


def good_top_k(probs, k):
    indices = np.argsort(-probs, axis=1)[:, :k]
    gates = np.take_along_axis(probs, indices, axis=1)
    return indices, gates / gates.sum(axis=1, keepdims=True)


def worst_first(probs, k):
    indices = np.argsort(probs, axis=1)[:, :k]
    return indices, good_top_k(probs, k)[1]


def raw_gates(probs, k):
    indices = good_top_k(probs, k)[0]
    return indices, np.take_along_axis(probs, indices, axis=1)


def not_started(probs, k):
    raise NotImplementedError


def test_top_k_check():
    assert nb11.check_top_k(good_top_k).solved
    assert "best first" in nb11.check_top_k(worst_first).message
    assert "add up to 1" in nb11.check_top_k(raw_gates).message
    assert "not started" in nb11.check_top_k(not_started).message


def good_balance(probs, indices):
    n = probs.shape[1]
    f = np.bincount(indices.ravel(), minlength=n) / indices.size
    return n * np.sum(f * probs.mean(axis=0))


def divides_by_tokens_only(probs, indices):
    n = probs.shape[1]
    f = np.bincount(indices.ravel(), minlength=n) / len(indices)  # forgets k
    return n * np.sum(f * probs.mean(axis=0))


def test_balance_loss_check():
    assert nb11.check_balance_loss(good_balance).solved
    per_token = nb11.check_balance_loss(divides_by_tokens_only)
    assert not per_token and "k=" in per_token.message
    assert not nb11.check_balance_loss(lambda p, i: 0.0)


def test_moe_design_check():
    base = nb11.BASE_CONFIG
    assert not nb11.check_moe_design(dict(base))
    assert "add experts" in nb11.check_moe_design(dict(base)).message
    assert nb11.check_moe_design({**base, "num_local_experts": 32}).solved
    too_active = nb11.check_moe_design({**base, "num_local_experts": 32, "num_experts_per_tok": 4})
    assert not too_active and "fewer experts per token" in too_active.message
    cheat = nb11.check_moe_design({**base, "num_local_experts": 32, "hidden_size": 1024})
    assert not cheat and "hidden_size" in cheat.message
    assert not nb11.check_moe_design({**base, "num_experts_per_tok": 9})

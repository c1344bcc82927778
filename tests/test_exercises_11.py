"""Notebook 11's self-checks accept right answers and explain wrong ones."""

import math
import re

import numpy as np

from utils import moe
from utils.exercises import nb11
from utils.model_size import count_parameters
from utils.moe import top_k_gates as tk


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
    # the obvious cheats: the lesson's own helper, under any name, and a constant answer
    assert "top_k_gates" in nb11.check_top_k(moe.top_k_gates).message
    assert "top_k_gates" in nb11.check_top_k(lambda p, k: moe.top_k_gates(p, k)).message
    assert "tk" in nb11.check_top_k(lambda p, k: tk(p, k)).message
    constant = nb11.check_top_k(
        lambda p, k: (np.zeros((len(p), k), int), np.full((len(p), k), 1 / k))
    )
    assert not constant.solved


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
    assert not nb11.check_balance_loss(lambda p, i: 1.0)  # the balanced value it prints first
    helper = nb11.check_balance_loss(lambda p, i: moe.load_balancing_loss(np.log(p), i))
    assert not helper.solved and "load_balancing_loss" in helper.message


def test_moe_design_check():
    assert nb11.check_moe_design(24, 3).solved
    assert "under 20B" in nb11.check_moe_design(8, 2).message  # the starting point
    assert "fewer experts" in nb11.check_moe_design(32, 3).message
    assert "more experts" in nb11.check_moe_design(24, 2).message
    assert "over 3B" in nb11.check_moe_design(24, 4).message
    assert not nb11.check_moe_design(9, 10)
    assert not nb11.check_moe_design(24.0, 3)
    # it never prints a total or an active count before the answer is right
    for experts, per_token in [(8, 2), (23, 3), (24, 4), (32, 3), (24, 2)]:
        assert not re.search(r"\d+\.\d+B", nb11.check_moe_design(experts, per_token).message)


def test_the_design_is_the_arithmetic_of_the_hint():
    config = nb11.BASE_CONFIG
    expert = config["num_hidden_layers"] * (
        3 * config["hidden_size"] * config["intermediate_size"] + config["hidden_size"]
    )
    fixed = (
        count_parameters({**config, "num_local_experts": 1, "num_experts_per_tok": 1})[0] - expert
    )
    assert nb11._design() == (
        math.ceil((20e9 - fixed) / expert),
        math.floor((3e9 - fixed) / expert),
    )

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


CONFIG = nb11.BASE_CONFIG
EXPERT = CONFIG["num_hidden_layers"] * 3 * CONFIG["hidden_size"] * CONFIG["intermediate_size"]
ROUTER_COLUMN = CONFIG["num_hidden_layers"] * CONFIG["hidden_size"]
EMBEDDING = CONFIG["vocab_size"] * CONFIG["hidden_size"]
ONE_EXPERT = count_parameters({**CONFIG, "num_local_experts": 1, "num_experts_per_tok": 1})[0]
FIXED = ONE_EXPERT - EXPERT - ROUTER_COLUMN  # attention, embedding, head, norms


def good_design(total_at_least, active_at_most):
    experts = math.ceil((total_at_least - FIXED) / (EXPERT + ROUTER_COLUMN))
    active_fixed = FIXED - EMBEDDING + experts * ROUTER_COLUMN  # no lookup, the whole router
    return experts, math.floor((active_at_most - active_fixed) / EXPERT)


def test_moe_design_check():
    assert nb11.check_moe_design(good_design).solved
    assert "under 20B" in nb11.check_moe_design(lambda t, a: (8, 2)).message  # the start
    assert "fewer experts" in nb11.check_moe_design(lambda t, a: (32, 3)).message
    assert "more experts" in nb11.check_moe_design(lambda t, a: (24, 2)).message
    assert "over 3B" in nb11.check_moe_design(lambda t, a: (24, 4)).message
    assert not nb11.check_moe_design(lambda t, a: (9, 10))
    assert not nb11.check_moe_design(lambda t, a: (24.0, 3))
    assert "not started" in nb11.check_moe_design(not_started).message
    # it never prints a total or an active count before the answer is right
    for answer in [(8, 2), (23, 3), (24, 4), (32, 3), (24, 2)]:
        message = nb11.check_moe_design(lambda t, a, answer=answer: answer).message
        assert not re.search(r"\d+\.\d+B", message)


def test_moe_design_check_says_not_yet_to_the_obvious_cheats():
    # the right design for the lesson's budget, as a constant (or copied from a solution)
    constant = nb11.check_moe_design(lambda t, a: (24, 3))
    assert not constant.solved and "other budgets" in constant.message

    # the sizes right but the rounding wrong where a budget falls exactly on a design
    def ceil_plus_one(t, a):
        experts, per_token = good_design(t, a)
        exact = (t - FIXED) % (EXPERT + ROUTER_COLUMN) == 0
        return experts + exact, per_token

    boundary = nb11.check_moe_design(ceil_plus_one)
    assert not boundary.solved and "1 of 4 other budgets" in boundary.message

    def searches(t, a):  # the checker's own search, through the lesson's counting helper
        experts = next(
            e
            for e in range(1, 999)
            if count_parameters({**CONFIG, "num_local_experts": e, "num_experts_per_tok": 1})[0]
            >= t
        )
        return experts, 1

    refused = nb11.check_moe_design(searches)
    assert not refused.solved and "count_parameters" in refused.message
    assert "_design" in nb11.check_moe_design(lambda t, a: nb11._design(t, a)).message


def test_the_design_is_the_arithmetic_of_the_hint():
    for budget in nb11._budgets():
        assert nb11._design(*budget) == good_design(*budget)
    assert nb11._design() == (24, 3)

"""The numpy MoE helpers: routing, the sparse forward pass, load balance, capacity, training."""

import numpy as np
import pytest

from utils import moe


def random_probs(tokens=32, experts=8, seed=0):
    return moe.softmax(np.random.default_rng(seed).normal(0, 2, (tokens, experts)))


def test_softmax_rows_sum_to_one_even_for_huge_logits():
    probs = moe.softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]]))
    assert np.allclose(probs.sum(axis=1), 1)
    assert np.allclose(probs[0], [0.5, 0.5, 0.0])
    assert np.allclose(probs[1], 1 / 3)


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_top_k_picks_the_k_largest_best_first(k):
    probs = random_probs()
    indices, gates = moe.top_k_gates(probs, k)
    for row, chosen in zip(probs, indices, strict=True):
        brute_force = sorted(range(len(row)), key=lambda e: -row[e])[:k]
        assert chosen.tolist() == brute_force
    assert np.allclose(gates.sum(axis=1), 1)
    assert np.all(np.diff(gates, axis=1) <= 0)  # best first


def test_top_k_without_renormalising_keeps_router_probabilities():
    probs = random_probs()
    indices, gates = moe.top_k_gates(probs, 2, renormalize=False)
    assert np.allclose(gates, np.take_along_axis(probs, indices, axis=1))
    assert np.all(gates.sum(axis=1) < 1)


@pytest.mark.parametrize("k", [0, 9])
def test_top_k_rejects_impossible_k(k):
    with pytest.raises(ValueError, match="k must be between 1"):
        moe.top_k_gates(random_probs(), k)
    with pytest.raises(ValueError, match="k must be between 1"):
        moe.make_moe_layer(4, 8, 8, k)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_sparse_forward_equals_dense_reference(k):
    layer = moe.make_moe_layer(d_model=16, d_hidden=32, n_experts=8, k=k, seed=3)
    x = np.random.default_rng(4).normal(size=(50, 16))
    sparse = moe.moe_forward(layer, x)
    assert np.allclose(sparse, moe.dense_reference(layer, x), atol=1e-12)
    assert np.abs(sparse).max() > 0.1  # not trivially zero


def test_one_token_by_hand():
    layer = moe.make_moe_layer(d_model=4, d_hidden=6, n_experts=3, k=2, seed=1)
    x = np.random.default_rng(2).normal(size=(1, 4))
    indices, gates, probs = moe.route(layer, x)
    by_hand = sum(
        g * moe.expert_mlp(layer, e, x) for e, g in zip(indices[0], gates[0], strict=True)
    )
    assert np.allclose(moe.moe_forward(layer, x), by_hand)
    assert set(indices[0]) == set(np.argsort(probs[0])[-2:])


def test_dense_gate_matrix_has_k_nonzeros_per_token():
    indices, gates = moe.top_k_gates(random_probs(), 3)
    matrix = moe.dense_gate_matrix(indices, gates, 8)
    assert matrix.shape == (32, 8)
    assert np.all((matrix > 0).sum(axis=1) == 3)
    assert np.allclose(matrix.sum(axis=1), 1)


def test_expert_counts_add_up_to_tokens_times_k():
    indices, _ = moe.top_k_gates(random_probs(tokens=40), 2)
    counts = moe.expert_counts(indices, 8)
    assert counts.shape == (8,) and counts.sum() == 80


def test_balance_loss_is_one_when_balanced_and_near_n_when_collapsed():
    balanced = moe.load_balancing_loss(np.zeros((16, 8)), (np.arange(16) % 8)[:, None])
    assert balanced == pytest.approx(1.0)
    logits = np.tile([20.0] + [0.0] * 7, (16, 1))
    collapsed = moe.load_balancing_loss(logits, np.zeros((16, 1), dtype=int))
    assert collapsed == pytest.approx(8.0, rel=1e-6)


@pytest.mark.parametrize("k", [1, 2])
def test_balance_loss_gradient_matches_finite_differences(k):
    logits = np.random.default_rng(5).normal(size=(10, 6))
    indices, _ = moe.top_k_gates(moe.softmax(logits), k)  # held fixed, as in training
    grad = moe.load_balancing_loss_grad(logits, indices)
    step, numeric = 1e-6, np.zeros_like(logits)
    for t in range(logits.shape[0]):
        for e in range(logits.shape[1]):
            bumped = logits.copy()
            bumped[t, e] += step
            up = moe.load_balancing_loss(bumped, indices)
            bumped[t, e] -= 2 * step
            numeric[t, e] = (up - moe.load_balancing_loss(bumped, indices)) / (2 * step)
    assert np.allclose(grad, numeric, atol=1e-8)
    assert np.abs(grad).max() > 1e-3


def test_expert_capacity():
    assert moe.expert_capacity(512, 8, 1, 1.0) == 64
    assert moe.expert_capacity(512, 8, 2, 1.25) == 160
    assert moe.expert_capacity(10, 4, 1, 1.0) == 3  # rounded up


def test_overflow_mask_drops_late_arrivals_first_choices_first():
    indices = np.array([[0, 1], [0, 1], [0, 2], [1, 0]])
    dropped = moe.overflow_mask(indices, n_experts=3, capacity=2)
    # first choices: expert 0 gets tokens 0,1 (token 2 dropped), expert 1 gets token 3;
    # second choices: expert 1 takes token 0 and is then full (token 1 dropped); token 3's
    # second choice, expert 0, is full.
    assert dropped.tolist() == [[False, False], [False, True], [True, False], [False, True]]


def test_toy_data_is_reproducible():
    x1, y1 = moe.toy_regression_data(seed=7)
    x2, y2 = moe.toy_regression_data(seed=7)
    assert x1.shape == (512, 8) and np.array_equal(x1, x2) and np.array_equal(y1, y2)


def test_balance_term_spreads_tokens_over_experts():
    x, y = moe.toy_regression_data(seed=0)
    free = moe.train_toy_moe(x, y, balance_coef=0.0, steps=150)
    balanced = moe.train_toy_moe(x, y, balance_coef=3.0, steps=150)
    assert free.task_loss[-1] < free.task_loss[0] / 5  # it learns
    assert balanced.task_loss[-1] < balanced.task_loss[0] / 5
    assert free.counts[-1].max() > 2 * balanced.counts[-1].max()
    assert (balanced.counts[-1] > 0).sum() == 8
    assert balanced.balance_loss[-1] < free.balance_loss[-1]
    assert free.counts.shape == (150, 8) and free.indices.shape == (512, 1)


def test_toy_training_with_two_experts_per_token():
    x, y = moe.toy_regression_data(n_tokens=64, seed=1)
    run = moe.train_toy_moe(x, y, k=2, steps=20)
    assert run.indices.shape == (64, 2)
    assert run.counts.sum(axis=1).tolist() == [128] * 20
    assert run.task_loss[-1] < run.task_loss[0]

"""Self-checks and hints for notebook 09 (preferences, reward models and best-of-n)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.exercises import Check, guarded, hint_printer, not_yet, solved
from utils.rlhf.best_of_n import expected_best_of_n
from utils.rlhf.reward_model import bradley_terry_loss

hint = hint_printer(
    {
        1: [
            "Read both answers to each prompt and decide which one you would rather get.",
            "Put one label per pair in the list, in order: 'A' if the first answer is better, "
            "'B' if the second is, e.g. ['A', 'B', 'A'].",
        ],
        2: [
            "The reward of each response is a dot product: chosen @ weights gives one number "
            "per pair. The loss looks only at the difference chosen − rejected.",
            "−log σ(m) = log(1 + exp(−m)); np.logaddexp(0, -m) computes it without overflow.",
            "margin = chosen @ weights - rejected @ weights; return the mean of "
            "np.logaddexp(0, -margin) as a float.",
        ],
        3: [
            "Sort the scores. The best of an n-answer subset is the k-th smallest score exactly "
            "when the subset holds that answer and n − 1 of the k − 1 smaller ones.",
            "There are C(N, n) subsets; C(k − 1, n − 1) of them have the k-th smallest score as "
            "their best. math.comb(a, b) computes C(a, b).",
            "sorted_scores = np.sort(scores); return sum(comb(k - 1, n - 1) * sorted_scores[k - 1] "
            "for k in range(1, N + 1)) / comb(N, n).",
        ],
    }
)


@guarded
def check_labels(labels: list, n_pairs: int) -> Check:
    """Exercise 1: one 'A' or 'B' per pair you sampled."""
    if not isinstance(labels, list | tuple) or len(labels) != n_pairs:
        return not_yet(f"give one label per pair: a list of {n_pairs} labels, 'A' or 'B'.")
    bad = [i for i, label in enumerate(labels) if str(label).strip().upper() not in ("A", "B")]
    if bad:
        return not_yet(f"pairs {bad} have no 'A' or 'B' label yet: read them and decide.")
    return solved(f"you labelled {n_pairs} pairs: {[str(x).strip().upper() for x in labels]}.")


@guarded
def check_bt_loss(my_bt_loss: Callable) -> Check:
    """Exercise 2: ``my_bt_loss(weights, chosen, rejected)`` equals the Bradley–Terry loss."""
    rng = np.random.default_rng(9)
    for pairs, features, scale in [(1, 2, 1.0), (5, 3, 1.0), (40, 8, 300.0)]:
        weights = rng.normal(size=features) * scale
        chosen, rejected = rng.normal(size=(pairs, features)), rng.normal(size=(pairs, features))
        got = my_bt_loss(weights, chosen, rejected)
        expected = bradley_terry_loss(weights, chosen, rejected)
        if got is None or not np.isfinite(got) or not np.isclose(got, expected, rtol=1e-6):
            return not_yet(
                f"with {pairs} pairs of {features} features you returned {got!r}, expected "
                f"{expected:.6f}" + (" (large margins: avoid exp overflow)" if scale > 1 else "")
            )
    if not np.isclose(my_bt_loss(np.zeros(3), np.ones((2, 3)), np.zeros((2, 3))), np.log(2)):
        return not_yet("with all-zero weights every pair is a coin flip: the loss should be log 2.")
    return solved("your loss matches the reference, large margins included.")


@guarded
def check_expected_best(my_expected_best: Callable) -> Check:
    """Exercise 3: ``my_expected_best(scores, n)`` equals the exact best-of-n expectation."""
    cases = [([3.0], 1), ([1.0, 2.0], 1), ([1.0, 2.0], 2), ([0.2, -1.0, 0.7, 0.1, 0.0], 2)]
    cases += [([1, 0, 0, 1, 0, 0], 3), (list(np.random.default_rng(3).normal(size=8)), 4)]
    for scores, n in cases:
        got, expected = my_expected_best(np.array(scores), n), expected_best_of_n(scores, n)
        if got is None or not np.isclose(got, expected):
            return not_yet(
                f"for scores {np.round(scores, 2).tolist()} and n={n} you returned {got!r}, expected {expected:.4f}."
            )
    return solved("your best-of-n expectation is exact on every case.")

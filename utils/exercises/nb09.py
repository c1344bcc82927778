"""Self-checks and hints for notebook 09 (preferences, reward models and best-of-n)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from utils.exercises import Check, guarded, helpers_used, hint_printer, not_yet, solved
from utils.rlhf import best_of_n, reward_model
from utils.rlhf.losses import log_sigmoid
from utils.rlhf.preferences import gsm8k_consistency_pairs

hint = hint_printer(
    {
        1: [
            "For your own pairs there is no answer key: decide which answer you would rather "
            "get. The two gold pairs have one: read the last lines of each answer.",
            "A gold pair's answers share every line of working; only the stated answer differs. "
            "Which one states what the working reaches?",
        ],
        2: [
            "The reward of each response is a dot product: chosen @ weights gives one number "
            "per pair. The loss looks only at the difference chosen − rejected.",
            "−log σ(m) = log(1 + exp(−m)); np.logaddexp(0, -m) computes it without overflow.",
            "Compute each pair's margin (the chosen reward minus the rejected one), turn every "
            "margin into −log σ(margin) with the overflow-safe identity of hint 2, and return "
            "their mean as a plain float.",
        ],
        3: [
            "Sort the scores. The best of an n-answer subset is the k-th smallest score exactly "
            "when the subset holds that answer and n − 1 of the k − 1 smaller ones.",
            "There are C(N, n) subsets; C(k − 1, n − 1) of them have the k-th smallest score as "
            "their best. math.comb(a, b) computes C(a, b).",
            "So the expectation is a weighted sum of the sorted scores: weight each one by the "
            "share of subsets whose best it is (hint 2's count over C(N, n)), and add up.",
        ],
    }
)

GOLD_FROM = 40  # gold pairs come after the consistency pairs the lesson trains and tests on


def gold_pairs() -> list[tuple[list[dict], str, str]]:
    """Two labelled pairs with a known answer, as (prompt, A, B): a rater's gold questions."""
    first, second = gsm8k_consistency_pairs(GOLD_FROM + 2)[GOLD_FROM:]
    return [
        (first["prompt"], first["chosen"], first["rejected"]),  # A states what the working reaches
        (second["prompt"], second["rejected"], second["chosen"]),  # B does
    ]


GOLD_ANSWERS = ("A", "B")


@guarded
def check_labels(labels: list, n_own: int) -> Check:
    """Exercise 1: a label for each of your ``n_own`` pairs, then the two gold pairs right."""
    n_pairs = n_own + len(GOLD_ANSWERS)
    if not isinstance(labels, list | tuple) or len(labels) != n_pairs:
        return not_yet(
            f"give one label per pair: a list of {n_pairs} labels, 'A' or 'B' ({n_own} for your "
            f"pairs, then {len(GOLD_ANSWERS)} for the gold pairs)."
        )
    clean = [str(label).strip().upper() for label in labels]
    bad = [i for i, label in enumerate(clean) if label not in ("A", "B")]
    if bad:
        return not_yet(f"pairs {bad} have no 'A' or 'B' label yet: read them and decide.")
    wrong = sum(got != want for got, want in zip(clean[n_own:], GOLD_ANSWERS, strict=True))
    if wrong:
        return not_yet(
            f"{wrong} of the {len(GOLD_ANSWERS)} gold pairs disagree with their own working: "
            "a rater who misses gold questions is not trusted with the others. Read them again."
        )
    return solved(
        f"both gold pairs right, so your {n_own} own labels {clean[:n_own]} count (they have no "
        "key: any careful judgement is a fair label)."
    )


@guarded
def check_bt_loss(my_bt_loss: Callable) -> Check:
    """Exercise 2: ``my_bt_loss(weights, chosen, rejected)`` equals the Bradley–Terry loss."""
    used = helpers_used(
        my_bt_loss,
        [
            reward_model.bradley_terry_loss,
            reward_model.bradley_terry_grad,
            reward_model.fit_reward_model,
            log_sigmoid,
        ],
    )
    if used:
        return not_yet(f"write the loss yourself, without {used}: that is what the check checks.")
    rng = np.random.default_rng(9)
    for pairs, features, scale in [(1, 2, 1.0), (5, 3, 1.0), (40, 8, 300.0)]:
        weights = rng.normal(size=features) * scale
        chosen, rejected = rng.normal(size=(pairs, features)), rng.normal(size=(pairs, features))
        got = my_bt_loss(weights, chosen, rejected)
        expected = reward_model.bradley_terry_loss(weights, chosen, rejected)
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
    import itertools

    used = helpers_used(
        my_expected_best,
        [best_of_n.expected_best_of_n, best_of_n.best_of_n_curve, itertools.combinations],
    )
    if used:
        return not_yet(
            f"count, don't call {used}: the exercise is the formula, without listing the subsets."
        )
    cases = [([3.0], 1), ([1.0, 2.0], 1), ([1.0, 2.0], 2), ([0.2, -1.0, 0.7, 0.1, 0.0], 2)]
    cases += [([1, 0, 0, 1, 0, 0], 3), (list(np.random.default_rng(3).normal(size=8)), 4)]
    for scores, n in cases:
        got = my_expected_best(np.array(scores), n)
        expected = best_of_n.expected_best_of_n(scores, n)
        if got is None or not np.isclose(got, expected):
            return not_yet(
                f"for scores {np.round(scores, 2).tolist()} and n={n} you returned {got!r}, expected {expected:.4f}."
            )
    return solved("your best-of-n expectation is exact on every case.")

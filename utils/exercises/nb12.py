"""Self-checks and hints for notebook 12 (thinking models: what thinking buys, what it costs)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from utils.evals.paired import paired_differences, sign_test
from utils.exercises import Check, close_to, guarded, hint_printer, not_yet, solved
from utils.test_time_compute import majority_correct

hint = hint_printer(
    {
        1: [
            "Ties are already left out: only better and worse count, n = better + worse. Under "
            "'no effect' each changed prompt goes up or down with probability 1/2.",
            "P(a split this uneven or more) = 2 × P(X ≤ min(better, worse)) for X ~ Binomial(n, "
            "1/2); math.comb(n, k) / 2**n is P(X = k). Cap the result at 1; with no changed prompt the p-value "
            "is 1.",
        ],
        2: [
            "Count the readable answers (skip None) with collections.Counter; the majority is "
            "every answer with the top count.",
            "If the target is one of m tied winners, a random tie-break picks it with chance "
            "1/m: that share is the answer, 0 if it is not a winner or nothing was readable. Compare "
            "numbers with math.isclose.",
        ],
        3: [
            "Average each side's samples per prompt first (groupby on prompt_id), then subtract "
            "prompt by prompt.",
            "Two per-prompt Series subtract by their index (prompt id), whatever their order; "
            "keep only prompts both sides have (an index intersection, or dropna after the "
            "subtraction).",
        ],
    }
)


def _uses(function: Callable, names: set[str]) -> set[str]:
    """The names in ``names`` the function's own code refers to (a call to the lesson's helper)."""
    code = getattr(function, "__code__", None)
    return set(code.co_names + code.co_freevars) & names if code else set()


@guarded
def check_sign_test(my_sign_test: Callable[[int, int], float]) -> Check:
    """Exercise 1: ``my_sign_test(better, worse)`` is the exact two-sided sign test."""
    helpers = _uses(my_sign_test, {"sign_test", "compare_paired", "binomtest"})
    if my_sign_test is sign_test or helpers:
        return not_yet("write the test yourself: calling the course's sign_test checks nothing.")
    cases = [(9, 1), (1, 9), (0, 0), (5, 5), (0, 6), (13, 4), (2, 11), (30, 18), (1, 0)]
    same = close_to(rel_tol=1e-9, abs_tol=1e-12)
    for better, worse in cases:
        got, want = my_sign_test(better, worse), sign_test(better, worse)
        if not same(got, want):
            if better == worse == 0:
                return not_yet("with no prompt changed there is no evidence at all: p should be 1.")
            if same(got, want / 2):
                return not_yet(
                    f"for {better} better and {worse} worse you gave one tail ({got:.4g}); the "
                    "test is two-sided: 'worse' would be as surprising as 'better'."
                )
            return not_yet(
                f"for {better} better and {worse} worse p should be {want:.4g}, not {got!r}."
            )
    return solved("your sign test matches the exact binomial one on every case.")


@guarded
def check_majority(my_majority_correct: Callable[[list, float], float]) -> Check:
    """Exercise 2: ``my_majority_correct(answers, target)``, a tied right answer counts its share."""
    if my_majority_correct is majority_correct or _uses(
        my_majority_correct, {"majority_correct", "majority", "expected_majority"}
    ):
        return not_yet("write the vote yourself: calling the course's helper checks nothing.")
    rng = np.random.default_rng(12)
    cases = [([12.0, 12.0, 10.0], 12), ([12.0, 10.0], 12), ([None, None], 12), ([None, 7.0], 7)]
    cases += [([10.0, 11.0, 12.0], 12), ([], 3), ([5.0, 5.0, 6.0, 6.0, 7.0], 6)]
    for _ in range(20):
        answers = [None if r < 0.15 else float(r * 5 // 1) for r in rng.uniform(0, 1, 7)]
        cases.append((answers, float(rng.integers(0, 5))))
    same = close_to(abs_tol=1e-9)
    for answers, target in cases:
        got, want = my_majority_correct(list(answers), target), majority_correct(answers, target)
        if not same(got, want):
            return not_yet(
                f"for answers {answers} and target {target:g} the vote is worth {want:.3g}, "
                f"yours gave {got!r}."
            )
    return solved("right on plain wins, ties, and answers that could not be read.")


def _judged(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two files' worth of judged samples: uneven samples per prompt, prompts missing, shuffled."""
    rng = np.random.default_rng(seed)
    prompts = [f"prompt_{i:02d}" for i in range(12)]
    sides = []
    for missing in ("prompt_03", "prompt_07"):
        rows = [
            {"prompt_id": p, "sample": s, "total_score": float(rng.integers(0, 3)) / 2}
            for p in prompts
            if p != missing
            for s in range(int(rng.integers(1, 4)))
        ]
        sides.append(pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True))
    return sides[0], sides[1]


@guarded
def check_paired_difference(
    my_paired_difference: Callable[[pd.DataFrame, pd.DataFrame], pd.Series],
) -> Check:
    """Exercise 3: per-prompt mean score with thinking minus without, on prompts both have."""
    helpers = _uses(my_paired_difference, {"paired_differences", "compare_paired", "prompt_means"})
    if helpers:
        return not_yet(
            f"compute it yourself, without {sorted(helpers)}: that is what the check checks."
        )
    for seed in (1, 2, 3):
        thinking, plain = _judged(seed)
        got = my_paired_difference(thinking.copy(), plain.copy())
        if not isinstance(got, pd.Series):
            return not_yet(
                f"return a pandas Series indexed by prompt_id, not {type(got).__name__}."
            )
        want = paired_differences(
            thinking.groupby("prompt_id")["total_score"].mean(),
            plain.groupby("prompt_id")["total_score"].mean(),
        )
        got = got.dropna()
        if set(got.index) != set(want.index):
            extra, missing = set(got.index) - set(want.index), set(want.index) - set(got.index)
            return not_yet(
                f"pair only prompts both sides have: extra {sorted(extra)}, missing {sorted(missing)}."
            )
        wrong = (got.loc[want.index] - want).abs() > 1e-9
        if wrong.any():
            prompt = wrong.idxmax()
            return not_yet(
                f"for {prompt} the difference of the per-prompt means is {want[prompt]:+.3f}, yours "
                f"is {got[prompt]:+.3f}. Average each side's samples before subtracting."
            )
    return solved("per-prompt means, paired by prompt id, only where both sides answered.")

"""Self-checks and hints for notebook 07 (LLM-as-judge)."""

from __future__ import annotations

import math
from collections.abc import Callable

from utils.exercises import Check, guarded, hint_printer, not_yet, solved

# Judge replies and the verdict label to read from each (None: no single readable verdict).
JUDGE_REPLIES = [
    ("Assistant A answers correctly and concisely. My final verdict: [[A>B]]", "A>B"),
    ("B is far more complete. [[B>>A]]", "B>>A"),
    ("Equally good. [[A=B]]", "A=B"),
    ("Verdict: [[ B > A ]]", "B>A"),
    ("At first [[A>B]], but on reflection [[B>A]].", None),
    ("I prefer A: [A>>B]", None),
    ("Assistant A is clearly better.", None),
    ("[[A>>B]] ... to be sure: [[A>>B]]", "A>>B"),
    ("", None),
]

# (verdict with answer_a shown first, verdict with answer_b shown first) → combined outcome.
COMBINE_CASES = [
    ("A>>B", "B>>A", "model_a"),
    ("B>A", "A>B", "model_b"),
    ("A>>B", "A>>B", "tie"),
    ("A>B", "A=B", "model_a"),
    ("A>B", "A>>B", "model_b"),
    ("A=B", "A=B", "tie"),
    (None, "A>B", None),
    ("B>>A", None, None),
]

hint = hint_printer(
    {
        1: [
            "Find every [[...]] with re.findall(r'\\[\\[(.*?)\\]\\]', text), drop the spaces "
            "inside, and keep those that are one of the five labels.",
            "Return the label if exactly one distinct label was found (a set of size 1), "
            "otherwise None.",
        ],
        2: [
            "Score each verdict from A's point of view: A>>B = 2, A>B = 1, A=B = 0, B>A = -1, "
            "B>>A = -2.",
            "In the second order the judge's A is answer_b: negate that score (or swap the "
            "label) before adding. Sum > 0 → 'model_a', < 0 → 'model_b', 0 → 'tie'.",
        ],
        3: [
            "Under Bradley–Terry, win rate w = 1 / (1 + 10 ** (-gap / 400)). Solve for gap.",
            "gap = 400 * log10(w / (1 - w)).",
        ],
    }
)


@guarded
def check_verdict_parser(parse: Callable[[str], str | None]) -> Check:
    """Exercise 1: ``parse(reply)`` reads the verdict label, or None when there is no single one."""
    for text, expected in JUDGE_REPLIES:
        got = parse(text)
        if got != expected:
            return not_yet(f"for {text!r} you returned {got!r}, expected {expected!r}.")
    return solved(f"all {len(JUDGE_REPLIES)} replies read correctly.")


@guarded
def check_combine(combine: Callable[[str | None, str | None], str | None]) -> Check:
    """Exercise 2: ``combine(verdict_ab, verdict_ba)`` undoes the swap and adds both orders."""
    for verdict_ab, verdict_ba, expected in COMBINE_CASES:
        got = combine(verdict_ab, verdict_ba)
        if got != expected:
            return not_yet(
                f"for {verdict_ab!r} then {verdict_ba!r} you returned {got!r}, expected {expected!r}."
            )
    return solved(f"all {len(COMBINE_CASES)} pairs of verdicts combined correctly.")


@guarded
def check_elo_gap(elo_gap: Callable[[float], float]) -> Check:
    """Exercise 3: ``elo_gap(win_rate)`` is the Bradley–Terry rating gap on the Elo scale."""
    for win_rate in (0.5, 0.64, 0.75, 10 / 11, 0.2):
        expected = 400 * math.log10(win_rate / (1 - win_rate))
        got = elo_gap(win_rate)
        if got is None or not math.isclose(got, expected, abs_tol=1e-6):
            return not_yet(
                f"for a win rate of {win_rate:.3f} you returned {got!r}, expected {expected:.2f}."
            )
    return solved("a 75% win rate is a 191-point gap; 10 to 1 odds are 400 points.")

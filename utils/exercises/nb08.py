"""Self-checks and hints for notebook 08 (reading the reported results)."""

from __future__ import annotations

import math
from collections.abc import Callable

from utils.datasets import load_reported_benchmarks
from utils.evals.reported import source_disagreements
from utils.exercises import Check, check_cases, close_to, guarded, hint_printer, not_yet, solved

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution

hint = hint_printer(
    {
        1: [
            "The standard error of an accuracy p measured on n questions is sqrt(p * (1 - p) / n).",
            "A 95% interval reaches about 1.96 standard errors either side: "
            "1.96 * math.sqrt(p * (1 - p) / n).",
        ],
        2: [
            "Solve 1.96 * sqrt(p * (1 - p) / n) <= half_width for n.",
            "n = (1.96 / half_width) ** 2 * p * (1 - p), rounded up with math.ceil.",
        ],
        3: [
            "Rows that appear twice have the same model and benchmark: "
            "base[base.duplicated(['model', 'benchmark'], keep=False)].",
            "Group them by ['model', 'benchmark'], take max - min of 'score' per group, and "
            "pick the largest with idxmax().",
        ],
    }
)


@guarded
def check_half_width(half_width: Callable[[float, int], float]) -> Check:
    """Exercise 1: ``half_width(p, n)``, the 95% normal-approximation half-width of an accuracy."""
    cases = [(0.761, 140), (0.761, 12_020), (0.5, 198), (0.9, 500)]
    return check_cases(
        half_width,
        [((p, n), Z95 * math.sqrt(p * (1 - p) / n)) for p, n in cases],
        "76.1% on 140 questions is ±7.1 points; on 12,020 it is ±0.8.",
        same=close_to(rel_tol=2e-3),
        what="half-widths",
        reveal=False,
    )


@guarded
def check_questions_needed(questions_needed: Callable[[float, float], int]) -> Check:
    """Exercise 2: ``questions_needed(half_width, p)``, the fewest questions for that precision."""
    cases = [(0.01, 0.76), (0.05, 0.5), (0.002, 0.76), (0.1, 0.9)]
    return check_cases(
        questions_needed,
        [((w, p), math.ceil((Z95 / w) ** 2 * p * (1 - p))) for w, p in cases],
        "±1 point at 76% needs about 7,000 questions; ±0.2 points, about 175,000.",
        same=lambda got, expected: isinstance(got, int) and abs(got - expected) <= max(1, 0.002 * expected),
        what="answers (a whole number of questions each)",
        reveal=False,
    )


@guarded
def check_biggest_gap(answer: tuple) -> Check:
    """Exercise 3: ``answer = (model, benchmark, gap)`` for the largest disagreement in base.csv."""
    top = source_disagreements(load_reported_benchmarks("base")).iloc[0]
    if not isinstance(answer, tuple) or len(answer) != 3:
        return not_yet("answer must be a tuple (model, benchmark, gap).")
    model, benchmark, gap = answer
    if (model, benchmark) != (top["model"], top["benchmark"]):
        return not_yet(f"{model} on {benchmark} is not the largest disagreement; compute all gaps.")
    if not math.isclose(abs(gap), abs(top["gap"]), abs_tol=0.05):
        return not_yet(f"right pair, but the gap is not {gap} points; subtract the two scores.")
    return solved(f"{model} on {benchmark}: the two sources differ by {abs(top['gap'])} points.")

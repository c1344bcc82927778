"""Self-checks and hints for notebook 08 (reading the reported results)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from utils import livebench
from utils.evals.reported import source_kind
from utils.exercises import (
    Check,
    check_cases,
    close_to,
    guarded,
    hint_printer,
    not_yet,
    solved,
    unmet_points,
)

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
RELEASE = "2025_04_25"  # exercise 3: LiveBench's release with both rows
PAIR = ("qwen2.5-max", "deepseek-v3-0324")
INTERVAL_TOLERANCE = 0.35  # points: how far a learner's bootstrap may land from the check's
ROW_MODEL = "Qwen2.5-Max"  # exercise 4: the row to add, Qwen2.5-Max on LiveBench's RELEASE

hint = hint_printer(
    {
        1: [
            "The standard error of an accuracy p measured on n questions is sqrt(p * (1 - p) / n).",
            "A 95% interval reaches about 1.96 standard errors either side of p; the half-width "
            "is that distance.",
        ],
        2: [
            "Set the half-width formula of exercise 1 equal to the precision you want.",
            "Solve it for n (square both sides), and round up: a fraction of a question is not "
            "a question.",
        ],
        3: [
            "load_table and load_categories from utils.livebench, with the release "
            f"'{RELEASE}'; the gap per task is one row minus the other.",
            "The global gap is the mean over categories of each category's mean task gap. For "
            "the interval, repeat that with each category's tasks drawn with replacement, many "
            "times, and take the 2.5th and 97.5th percentiles.",
        ],
        4: [
            f"The score is qwen2.5-max's global average in release '{RELEASE}', computed as "
            "section 4 computes it for the older release.",
            "A source a reader can follow names the repository at its commit "
            "(utils.livebench.UPSTREAM and UPSTREAM_COMMIT), the file, and how the number was "
            "computed from it; that comes first, before any ';'.",
            "Give the benchmark a name that carries the release, so that no one reads it as the "
            "announcement's LiveBench column, then ask source_kind who ran your row: a third "
            "party's own run, not a compilation.",
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
        same=lambda got, expected: (
            isinstance(got, int) and abs(got - expected) <= max(1, 0.002 * expected)
        ),
        what="answers (a whole number of questions each)",
        reveal=False,
    )


@guarded
def check_livebench_interval(answer: tuple) -> Check:
    """Exercise 3: ``answer = (gap, low, high)`` for qwen2.5-max minus deepseek-v3-0324."""
    if not (
        isinstance(answer, tuple)
        and len(answer) == 3
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in answer)
    ):
        return not_yet("answer must be a tuple of three numbers (gap, low, high), in points.")
    gap, low, high = (float(x) for x in answer)
    # The check's own bootstrap, computed here and never kept: nothing in this module to import
    # as the answer.
    table = livebench.load_table(RELEASE)
    by_task = table.loc[PAIR[0]] - table.loc[PAIR[1]]
    groups = [by_task[tasks].to_numpy() for tasks in livebench.load_categories(RELEASE).values()]
    truth = float(np.mean([g.mean() for g in groups]))
    rng = np.random.default_rng(0)
    resampled = [np.mean([rng.choice(g, len(g)).mean() for g in groups]) for _ in range(2000)]
    true_low, true_high = np.percentile(resampled, [2.5, 97.5])
    if not math.isclose(gap, truth, abs_tol=0.01):
        return not_yet(
            "the gap is not the difference of the two global averages (mean of category means) "
            f"of {PAIR[0]} and {PAIR[1]} in release {RELEASE}."
        )
    if not low <= gap <= high:
        return not_yet("the interval must contain the gap.")
    if abs(low - true_low) > INTERVAL_TOLERANCE or abs(high - true_high) > INTERVAL_TOLERANCE:
        return not_yet(
            "right gap, but the interval is not what resampling tasks within each category "
            "gives (resample every category's tasks, 2,000 draws or more)."
        )
    verdict = "excludes" if low > 0 or high < 0 else "includes"
    return solved(f"{PAIR[0]} minus {PAIR[1]}: {gap:+.2f} points; the interval {verdict} zero.")


ROW_RUBRIC = {
    "row": f"new_row is a dict with model '{ROW_MODEL}', benchmark, score and source",
    "score": f"score is qwen2.5-max's global average in LiveBench's {RELEASE} release",
    "label": "benchmark names LiveBench and the release (2025-04-25), not plain 'LiveBench'",
    "source": "source names LiveBench/livebench.github.io at its commit, the table's file, "
    "and how the number was computed (a mean or an average)",
    "kind": "source_kind(model, source) says a third party's own run (LiveBench)",
}


def _row_rubric(row: dict) -> dict[str, bool]:
    met = dict.fromkeys(ROW_RUBRIC, False)
    keys = {"model", "benchmark", "score", "source"}
    if not (isinstance(row, dict) and keys <= set(row) and row["model"] == ROW_MODEL):
        return met
    met["row"] = True
    score, benchmark, source = row["score"], str(row["benchmark"]), str(row["source"])
    table = livebench.load_table(RELEASE)  # the truth, computed here and never kept
    by_category = livebench.category_averages(table, livebench.load_categories(RELEASE))
    truth = float(livebench.global_average(by_category)["qwen2.5-max"])
    met["score"] = (
        isinstance(score, int | float)
        and not isinstance(score, bool)
        and math.isclose(score, truth, abs_tol=0.05)
    )
    met["label"] = "LiveBench" in benchmark and bool(re.search(r"2025[-_ ]?04[-_ ]?25", benchmark))
    first = source.split(";")[0]
    commit = re.search(re.escape(livebench.UPSTREAM) + r"@([0-9a-f]{7,40})", first)
    met["source"] = (
        commit is not None
        and livebench.UPSTREAM_COMMIT.startswith(commit.group(1))
        and f"table_{RELEASE}.csv" in first
        and bool(re.search(r"\b(mean|average)", first, re.IGNORECASE))
    )
    met["kind"] = source_kind(ROW_MODEL, source) == "a third party's own run (LiveBench)"
    return met


@guarded
def check_new_row(row: dict) -> Check:
    """Exercise 4: ``row`` adds Qwen2.5-Max's LiveBench global average, with its source."""
    met = _row_rubric(row)
    if (unmet := unmet_points(met, ROW_RUBRIC)) is not None:
        return unmet
    return solved(
        f"{row['benchmark']}: {row['score']}, {source_kind(ROW_MODEL, row['source'])}. A reader "
        "can open that file at that commit and recompute it, which no number in the "
        "announcement's figure allows."
    )

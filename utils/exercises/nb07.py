"""Self-checks and hints for notebook 07 (LLM-as-judge), the answers its judge audit reads,
and the labelled pairs of its mini-project. A check says how many cases are wrong, never
which: the answers stay yours."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from utils import misguided_attention
from utils.datasets import load_gsm8k
from utils.evals.arena_hard import (
    arena_hard_scores,
    battles_from_verdicts,
    load_arena_hard_battles,
    verdicts_from_battles,
)
from utils.evals.judge import combine_verdicts, parse_verdict
from utils.evals.stats import cohen_kappa
from utils.exercises import (
    Check,
    check_cases,
    guarded,
    hint_printer,
    not_yet,
    solved,
    unmet_points,
)

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

BASELINE = "claude-3-haiku-20240307"  # the baseline of the stored Arena-Hard battles
HELPERS = {"parse_verdict": parse_verdict, "combine_verdicts": combine_verdicts}
USABLE_KAPPA = 0.6  # the mini-project's bar: the interval's lower end ("substantial" agreement)
USABLE_UNREADABLE = 0.1  # ... and at most this share of unreadable outcomes

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
            "verdicts_from_battles(battles) gives one row per question and contestant with "
            "both verdicts; game 1 (the baseline shown first) is verdict_ab.",
            "Keep only game 1's verdict of every pair, turn the verdicts back into battles the "
            "Arena-Hard way (a strong verdict still counts three times), and score those "
            "battles as section 3 does.",
        ],
        4: [
            "Read each answer to its end before you decide: a criterion is met only if the "
            "answer's own words meet it. A hedge (two answers offered) is a judgement call; "
            "decide, and note why.",
            "Line your verdicts and the judge's up in the same order (answer by answer, "
            "criterion by criterion) and compute kappa on the two flat lists.",
            "For the interval, resample whole answers with replacement (their criteria travel "
            "together), recompute kappa on each resample, and take the 2.5th and 97.5th "
            "percentiles, ignoring resamples where kappa is undefined.",
        ],
        5: [
            "judged = await judge_pairs(pairs, client=async_client, model=settings.model, "
            "cache=cache, max_tokens=...) judges both orders. Its 'outcome' is None where a "
            "verdict was unreadable.",
            "Count unreadable outcomes as a label of their own ('unreadable') and compute "
            "cohen_kappa(pairs['label'], outcomes): a judge that says nothing disagrees.",
            "For the interval, resample the pair indices with replacement (numpy's "
            "rng.integers), recompute kappa on each resample, and take the 2.5th and 97.5th "
            "percentiles.",
        ],
    }
)


def _wrong(count: int, total: int, what: str) -> Check:
    return not_yet(f"{count} of {total} {what} wrong; test your function on your own cases.")


def _calls_helper(function: Callable, name: str) -> bool:
    """Whether ``function`` is the course's helper ``name`` or calls it by that name."""
    if function is HELPERS[name]:
        return True
    code = getattr(function, "__code__", None)
    return code is not None and name in code.co_names


def _own_work(function: Callable, name: str) -> Check | None:
    if _calls_helper(function, name):
        return not_yet(
            f"that is the course's `{name}` doing the work; the exercise is to write it yourself."
        )
    return None


@guarded
def check_verdict_parser(parse: Callable[[str], str | None]) -> Check:
    """Exercise 1: ``parse(reply)`` reads the verdict label, or None when there is no single one."""
    if (cheat := _own_work(parse, "parse_verdict")) is not None:
        return cheat
    return check_cases(
        parse,
        [((text,), expected) for text, expected in JUDGE_REPLIES],
        f"all {len(JUDGE_REPLIES)} replies read correctly.",
        what="replies read",
        reveal=False,
    )


@guarded
def check_combine(combine: Callable[[str | None, str | None], str | None]) -> Check:
    """Exercise 2: ``combine(verdict_ab, verdict_ba)`` undoes the swap and adds both orders."""
    if (cheat := _own_work(combine, "combine_verdicts")) is not None:
        return cheat
    return check_cases(
        combine,
        [((ab, ba), expected) for ab, ba, expected in COMBINE_CASES],
        f"all {len(COMBINE_CASES)} pairs of verdicts combined correctly.",
        what="pairs of verdicts combined",
        reveal=False,
    )


@guarded
def check_first_game_scores(scores: dict[str, float]) -> Check:
    """Exercise 3: ``scores`` maps each contestant to its score (%) from game 1 alone."""
    # Computed here and never kept: no function or value of this module is the answer.
    games = verdicts_from_battles(load_arena_hard_battles()).assign(verdict_ba=None)
    truth = arena_hard_scores(battles_from_verdicts(games), BASELINE, rounds=0)["score"]
    truth = truth.drop(BASELINE)
    if not isinstance(scores, dict) or set(scores) != set(truth.index):
        return not_yet(
            f"scores must be a dict with one score per contestant: {sorted(truth.index)}."
        )
    wrong = sum(
        not (isinstance(scores[m], int | float) and math.isclose(scores[m], truth[m], abs_tol=0.05))
        for m in truth.index
    )
    if wrong:
        return _wrong(wrong, len(truth), "scores (to 0.05 points)")
    return solved(
        "every score rises: shown second every time, each contestant gains from this "
        "judge's lean towards the answer it reads second; game 2 is what cancels it."
    )


def _as_text(solution: str) -> str:
    """A GSM8K solution without calculator notes, ending in "Answer: n"."""
    body, final = solution.rsplit("####", 1)
    return re.sub(r"<<.*?>>", "", body).strip() + f"\nAnswer: {final.strip()}"


def _corrupt(text: str, rng: np.random.Generator) -> str:
    """The same solution with its final number changed everywhere it is stated last."""
    body, final = text.rsplit("Answer: ", 1)
    number = float(final.replace(",", ""))
    wrong = number + int(rng.choice([-3, -2, -1, 1, 2, 3, 10]))
    shown = f"{wrong:g}" if wrong != int(wrong) else str(int(wrong))
    last = [m for m in re.finditer(rf"(?<![\d.]){re.escape(final.strip())}(?![\d.])", body)]
    if last:
        m = last[-1]
        body = body[: m.start()] + shown + body[m.end() :]
    return f"{body}Answer: {shown}"


def validation_pairs(n: int = 12, seed: int = 0) -> pd.DataFrame:
    """``n`` GSM8K pairs whose verdict is known by construction, for validating a judge.

    Two thirds pit a reference solution against the same solution with its final number
    changed (``label`` names the correct side); one third shows one solution twice
    (``label`` "tie"). Columns ``pair_id, question, answer_a, answer_b, label``.
    """
    if n < 3:
        raise ValueError(f"n must be at least 3, got {n}")
    rng = np.random.default_rng(seed)
    problems = sorted(load_gsm8k(), key=lambda p: len(p["question"]) + len(p["answer"]))[:300]
    chosen = rng.choice(len(problems), size=n, replace=False)
    kinds = ["model_a", "model_b", "tie"] * (n // 3 + 1)
    kinds = [kinds[k] for k in rng.permutation(n)]  # a third of each, shuffled
    rows = []
    for pair_id, (index, label) in enumerate(zip(chosen, kinds, strict=True)):
        right = _as_text(problems[index]["answer"])
        wrong = right if label == "tie" else _corrupt(right, rng)
        answer_a, answer_b = (wrong, right) if label == "model_b" else (right, wrong)
        rows.append(
            {
                "pair_id": pair_id,
                "question": problems[index]["question"],
                "answer_a": answer_a,
                "answer_b": answer_b,
                "label": label,
            }
        )
    return pd.DataFrame(rows)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


RUBRIC = {
    "pairs": "judged the labelled pairs of validation_pairs(n) (n >= 12), unchanged",
    "both_orders": "each outcome combines both orders (as judge_pairs returns them)",
    "unreadable": "report['unreadable'] counts the outcomes that are missing, none dropped",
    "kappa": "report['kappa'] is Cohen's kappa against the labels, unreadable as its own label",
    "interval": "report['interval'] is a (low, high) interval around kappa within [-1, 1]",
    "usable": (
        f"report['usable'] is True only if low >= {USABLE_KAPPA} and at most "
        f"{USABLE_UNREADABLE:.0%} unreadable"
    ),
}


def _rubric(report: dict) -> dict[str, bool]:
    """Which rubric points ``report`` meets."""
    met = dict.fromkeys(RUBRIC, False)
    judged = report.get("judged")
    if not isinstance(judged, pd.DataFrame) or len(judged) < 12:
        return met
    expected = validation_pairs(len(judged))
    columns = ["question", "answer_a", "answer_b", "label"]
    if set(columns) <= set(judged.columns):
        met["pairs"] = judged[columns].reset_index(drop=True).equals(expected[columns])
    if not {"verdict_ab", "verdict_ba", "outcome"} <= set(judged.columns):
        return met
    outcomes = [None if _missing(o) else o for o in judged["outcome"]]
    combined = [
        combine_verdicts(None if _missing(ab) else ab, None if _missing(ba) else ba)
        for ab, ba in zip(judged["verdict_ab"], judged["verdict_ba"], strict=True)
    ]
    met["both_orders"] = outcomes == combined
    unreadable = sum(o is None for o in outcomes)
    met["unreadable"] = report.get("unreadable") == unreadable
    kappa = cohen_kappa(expected["label"], ["unreadable" if o is None else o for o in outcomes])
    given = report.get("kappa")
    met["kappa"] = isinstance(given, int | float) and math.isclose(given, kappa, abs_tol=1e-9)
    interval = report.get("interval")
    if isinstance(interval, tuple | list) and len(interval) == 2:
        low, high = interval
        met["interval"] = -1 <= low <= kappa + 1e-9 and kappa - 1e-9 <= high <= 1
        rule = bool(low >= USABLE_KAPPA and unreadable <= USABLE_UNREADABLE * len(judged))
        usable = report.get("usable")
        met["usable"] = met["interval"] and isinstance(usable, bool) and usable == rule
    return met


@guarded
def check_judge_validation(report: dict) -> Check:
    """Mini-project: validate a judge against labelled pairs (rubric of six points)."""
    if not isinstance(report, dict):
        return not_yet("report must be a dict with judged, unreadable, kappa, interval, usable.")
    met = _rubric(report)
    if (unmet := unmet_points(met, RUBRIC, "rubric points")) is not None:
        return unmet
    low, high = report["interval"]
    verdict = "usable" if report["usable"] else "not usable as a judge yet"
    return solved(
        f"all {len(met)} rubric points met. Your judge: kappa {report['kappa']:.2f} "
        f"(95% interval {low:.2f} to {high:.2f}), {report['unreadable']} of "
        f"{len(report['judged'])} outcomes unreadable: {verdict}."
    )


# The judge audit (section 6 and exercise 4): Qwen2.5-Max's and DeepSeek-V3's published
# MisguidedAttention answers, with the published judges' verdicts on every criterion.

AUDIT_FILES = ("qwenmax", "dsv3")  # judged by llama-3.3-70b-instruct and by phi-4
AUDIT_MAX_CHARS = 1200  # prompts whose answers are all this short: readable in a lesson
AUDIT_PROMPTS = 4  # per part; each prompt gives one answer of each model
AUDIT_TOLERANCE = 0.15  # how far an interval's ends may be from the check's own bootstrap


def audit_sample(part: str = "lesson") -> pd.DataFrame:
    """The answers to audit: ``part`` "lesson" (section 6) or "exercise" (exercise 4).

    Four prompts drawn at random (seed 0) from those whose answers are all short, the
    exercise's from the prompts the lesson did not draw, and for each prompt one judged answer
    of each model in ``AUDIT_FILES``, also at random. Columns ``file, prompt_id, llm, sample,
    output, total_score`` and ``judge``, the judge's verdicts in criterion order.
    """
    if part not in ("lesson", "exercise"):
        raise ValueError("part must be 'lesson' or 'exercise'")
    judged = pd.concat(
        [misguided_attention.load_evaluations(f).assign(file=f) for f in AUDIT_FILES]
    )
    longest = judged.groupby("prompt_id")["output"].apply(lambda s: s.str.len().max())
    pool = sorted(longest[longest <= AUDIT_MAX_CHARS].index)
    rng = np.random.default_rng(0)
    lesson = rng.choice(pool, AUDIT_PROMPTS, replace=False)
    rest = [p for p in pool if p not in lesson]
    prompts = lesson if part == "lesson" else rng.choice(rest, AUDIT_PROMPTS, replace=False)
    chosen = judged[judged["prompt_id"].isin(prompts)]
    sample = chosen.groupby(["prompt_id", "file"]).sample(1, random_state=0)
    sample = sample.assign(judge=sample["criteria"].map(lambda c: [met for _, met in c]))
    columns = ["file", "prompt_id", "llm", "sample", "output", "total_score", "judge"]
    return sample[columns].reset_index(drop=True)


def audit_keys(sample: pd.DataFrame) -> list[tuple[str, str, int]]:
    """``(file, prompt_id, sample)`` of each answer, the keys of a verdicts dict."""
    return list(zip(sample["file"], sample["prompt_id"], sample["sample"].map(int), strict=True))


def audit_template(sample: pd.DataFrame) -> dict[tuple[str, str, int], list]:
    """A verdicts dict to fill in: one ``None`` per criterion of each answer."""
    return {key: [None] * len(judge) for key, judge in zip(audit_keys(sample), sample["judge"], strict=True)}  # fmt: skip


AUDIT_RUBRIC = {
    "complete": "report['verdicts'] has a True/False verdict for every criterion of every "
    "answer of audit_sample('exercise') (start from audit_template)",
    "read": "your verdicts are not all the same (the answers differ)",
    "own": "your verdicts are yours, not the judge's copied",
    "kappa": "report['kappa'] is Cohen's kappa between your verdicts and the judge's",
    "interval": "report['interval'] is a 95% bootstrap interval (low, high) around kappa, "
    "from resampled answers",
}


def _audit_rubric(report: dict) -> dict[str, bool]:
    met = dict.fromkeys(AUDIT_RUBRIC, False)
    sample = audit_sample("exercise")
    verdicts = report.get("verdicts")
    if not isinstance(verdicts, dict) or set(verdicts) != set(audit_keys(sample)):
        return met
    judge = list(sample["judge"])
    mine = [verdicts[key] for key in audit_keys(sample)]
    shaped = all(
        isinstance(v, list | tuple) and len(v) == len(j) and all(isinstance(x, bool) for x in v)
        for v, j in zip(mine, judge, strict=True)
    )
    if not shaped:
        return met
    met["complete"] = True
    mine = [list(v) for v in mine]
    flat_mine = [x for v in mine for x in v]
    flat_judge = [x for v in judge for x in v]
    met["read"] = len(set(flat_mine)) == 2
    met["own"] = flat_mine != flat_judge
    kappa = cohen_kappa(flat_mine, flat_judge)
    given = report.get("kappa")
    met["kappa"] = (
        isinstance(given, int | float)
        and not isinstance(given, bool)
        and not math.isnan(kappa)
        and math.isclose(given, kappa, abs_tol=1e-9)
    )
    interval = report.get("interval")
    if met["kappa"] and isinstance(interval, tuple | list) and len(interval) == 2:
        low, high = (float(x) for x in interval)
        # The check's own bootstrap over whole answers, computed here and never kept: no
        # function of this module hands out the interval.
        rng, kappas = np.random.default_rng(0), []
        for _ in range(2000):
            picked = rng.integers(0, len(mine), size=len(mine))
            kappas.append(
                cohen_kappa([v for i in picked for v in mine[i]], [v for i in picked for v in judge[i]])
            )
        ref_low, ref_high = np.nanpercentile(kappas, [2.5, 97.5])
        met["interval"] = (
            -1 <= low <= kappa + 1e-9 <= high + 2e-9 <= 1 + 2e-9
            and abs(low - ref_low) <= AUDIT_TOLERANCE
            and abs(high - ref_high) <= AUDIT_TOLERANCE
        )
    return met


@guarded
def check_audit(report: dict) -> Check:
    """Exercise 4: audit the published judges on ``audit_sample("exercise")`` (five points)."""
    if not isinstance(report, dict):
        return not_yet("report must be a dict with verdicts, kappa and interval.")
    met = _audit_rubric(report)
    if met["complete"] and not met["own"]:
        return not_yet(
            "your verdicts are the judge's, verdict for verdict. Read the answers again: in at "
            "least one of them the answer's own words contradict the judge."
        )
    if (unmet := unmet_points(met, AUDIT_RUBRIC)) is not None:
        return unmet
    low, high = report["interval"]
    return solved(
        f"your audit: kappa {report['kappa']:.2f} against the published judges (95% interval "
        f"{low:.2f} to {high:.2f}) on {sum(len(v) for v in report['verdicts'].values())} "
        "verdicts. An interval this wide is what a sample this small can say."
    )

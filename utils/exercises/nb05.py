"""Self-checks and hints for notebook 05 (multiple choice)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from utils.datasets import load_mmlu_pro
from utils.evals import stats
from utils.evals.batch import BATCH_ENDPOINT, read_batch_output
from utils.evals.mcq import extract_choice
from utils.evals.stats import bootstrap_ci
from utils.exercises import (
    Check,
    check_cases,
    guarded,
    helpers_used,
    hint_printer,
    not_yet,
    solved,
)
from utils.loopback.batch import parse_batch_lines

# Answers given as an option's text instead of its letter, and the letter a grader would read.
OPTION_TEXT_CASES = [
    ("Ribosome", ["Lysosome", "Ribosome", "Nucleus"], "B"),
    ("I believe the ribosome came first.", ["Lysosome", "Ribosome", "Nucleus"], "B"),
    ("Either the lysosome or the nucleus.", ["Lysosome", "Ribosome", "Nucleus"], None),
    ("Mitochondria, surely.", ["Lysosome", "Ribosome", "Nucleus"], None),
    ("The resistance is 4.12 ohms.", ["4.12 ohms", "41.2 ohms", "0.412 ohms"], "A"),
    ("12", ["2", "12", "20"], "B"),
    ("It must be 2.", ["2", "12", "20"], "A"),
    ("", ["2", "12", "20"], None),
]

hint = hint_printer(
    {
        1: [
            "Loop over the options with their letters (zip('ABCDEFGHIJ', options)) and collect "
            "every option whose text occurs in the answer; return a letter only if exactly one "
            "does.",
            "Compare in lower case. A plain `in` test says '2' occurs in '12': match whole "
            "words with re.search(r'\\b' + re.escape(option.lower()) + r'\\b', text.lower()).",
        ],
        2: [
            "One resample: rng.choice(values, size=len(values)) draws len(values) items with "
            "replacement. Take its mean; repeat `resamples` times.",
            "The interval is the 2.5th and 97.5th percentiles of those means: "
            "np.percentile(means, [2.5, 97.5]).",
        ],
        3: [
            "json.dumps(..., sort_keys=True) gives the same text for dicts whose keys are in a "
            "different order; hashlib.sha256(text.encode()).hexdigest() turns it into a key.",
            "Put the base URL into what you hash, e.g. json.dumps({'base_url': base_url, "
            "'request': request}, sort_keys=True).",
        ],
        4: [
            "Keep a table of your questions with their custom_id (write_batch_file numbers them "
            "request-0, request-1, ... in order). After the batch, read_batch_output(path) gives "
            "{custom_id: response body}; look each of your rows up in it by custom_id.",
            "A custom_id missing from the output (or mapped to None) has no answer: evaluated is "
            "False and correct stays empty (None), so it counts neither way. Score the others "
            "with extract_choice(text, n_options) == answer, and the accuracy over them only.",
        ],
    }
)


@guarded
def check_option_text_reader(reader: Callable[[str, Sequence[str]], str | None]) -> Check:
    """Exercise 1: ``reader(answer, options)`` finds the one option named in the answer."""
    return check_cases(
        reader,
        [((text, options), expected) for text, options, expected in OPTION_TEXT_CASES],
        f"all {len(OPTION_TEXT_CASES)} answers read correctly.",
        describe=lambda args: f"{args[0]!r} with options {args[1]}",
    )


@guarded
def check_bootstrap(my_bootstrap_ci: Callable[..., tuple[float, float]]) -> Check:
    """Exercise 2: ``my_bootstrap_ci(values, resamples, seed)`` is a percentile bootstrap."""
    used = helpers_used(my_bootstrap_ci, [stats.bootstrap_ci, stats.accuracy_ci])
    if used:
        return not_yet(
            f"write the resampling yourself, without {used}: the check compares with it, so "
            "calling it checks nothing."
        )
    rng = np.random.default_rng(42)
    for n, p in [(40, 0.3), (200, 0.7), (25, 0.5)]:
        values = (rng.random(n) < p).astype(float)
        low, high = my_bootstrap_ci(values, resamples=2000, seed=0)
        ref_low, ref_high = bootstrap_ci(values, resamples=2000, seed=0)
        if not low <= values.mean() <= high:
            return not_yet(
                f"for n={n} your interval ({low:.3f}, {high:.3f}) misses the mean {values.mean():.3f}."
            )
        if abs(low - ref_low) > 0.04 or abs(high - ref_high) > 0.04:
            return not_yet(
                f"for n={n} you got ({low:.3f}, {high:.3f}); a 95% percentile bootstrap gives "
                f"about ({ref_low:.3f}, {ref_high:.3f})."
            )
    if tuple(my_bootstrap_ci(np.ones(5), resamples=200, seed=0)) != (1.0, 1.0):
        return not_yet("five correct answers out of five should give the interval (1.0, 1.0).")
    return solved("your intervals match the reference percentile bootstrap.")


@guarded
def check_cache_key(my_cache_key: Callable[[dict, str], str]) -> Check:
    """Exercise 3: ``my_cache_key(request, base_url)`` is equal exactly for identical calls."""
    request = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}
    url = "http://127.0.0.1:8765/v1"
    key = my_cache_key(request, url)
    if not isinstance(key, str) or not key:
        return not_yet(f"return a non-empty string, not {key!r}.")
    if my_cache_key(dict(reversed(list(request.items()))), url) != key:
        return not_yet("the same request with its keys in another order must give the same key.")
    changes = {
        "another model": ({**request, "model": "other"}, url),
        "another max_tokens": ({**request, "max_tokens": 9}, url),
        "another message": ({**request, "messages": [{"role": "user", "content": "Hi!"}]}, url),
        "another server": (request, "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
    }
    for change, (changed, changed_url) in changes.items():
        if my_cache_key(changed, changed_url) == key:
            return not_yet(f"{change} gave the same key: the cache would return a wrong answer.")
    return solved("equal keys for equal requests, different keys for anything that matters.")


PROJECT_MIN_QUESTIONS, PROJECT_MIN_CATEGORIES = 20, 5


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


@guarded
def check_batch_project(
    input_path: str | Path | None,
    output_path: str | Path | None,
    results: pd.DataFrame | None,
    accuracy: float | None = None,
) -> Check:
    """Mini-project: MMLU-Pro questions as a Batch job, read back by ``custom_id``, scored honestly.

    ``results`` has one row per request with ``custom_id``, ``choice`` (the letter read, or
    None), ``evaluated`` (an answer came back) and ``correct`` (None when not evaluated);
    ``accuracy`` is the score you report. The check grades against the course's copy of
    MMLU-Pro, not against your table, and lists every rubric line with ✔ or ✘.
    """
    if input_path is None or output_path is None or results is None:
        return not_yet("not started yet: run your batch, then pass its input file, its output "
                       "file, your results table and your accuracy.")  # fmt: skip
    output = Path(output_path)
    if not output.is_file() or not output.read_text(encoding="utf-8").strip():
        return not_yet(
            f"no batch results in {output}: the batch did not run or answered nothing (an "
            "endpoint without the Batch API refuses /files; run the project offline on "
            "LocalBatchAPI, or on an endpoint that offers Batch), so there is nothing to score."
        )
    questions = {q["question"].strip(): q for q in load_mmlu_pro()}
    lines = parse_batch_lines(Path(input_path).read_bytes(), BATCH_ENDPOINT)
    asked = {}  # custom_id → the MMLU-Pro question its request asks
    for line in lines:
        prompt = json.dumps(line["body"].get("messages", []), ensure_ascii=False)
        found = [q for text, q in questions.items() if json.dumps(text, ensure_ascii=False)[1:-1] in prompt]
        if found:
            asked[line["custom_id"]] = found[0]
    categories = {q["category"] for q in asked.values()}
    answers = read_batch_output(output_path)
    rows = {row.custom_id: row for row in results.itertuples()}
    expected_choice = {
        cid: extract_choice(answers[cid]["choices"][0]["message"]["content"], len(q["options"]))
        if answers.get(cid) else None
        for cid, q in asked.items()
    }  # fmt: skip
    answered = {cid for cid in asked if answers.get(cid)}
    same_choice = all(
        cid in rows and (_missing(rows[cid].choice) if expected_choice[cid] is None
                         else rows[cid].choice == expected_choice[cid])
        for cid in answered
    )  # fmt: skip
    scored = [rows[cid] for cid in answered if cid in rows]
    rubric = {
        f"the batch file asks at least {PROJECT_MIN_QUESTIONS} MMLU-Pro questions from at least "
        f"{PROJECT_MIN_CATEGORIES} categories ({len(asked)} from {len(categories)})":
            len(asked) >= PROJECT_MIN_QUESTIONS and len(categories) >= PROJECT_MIN_CATEGORIES,
        "results has exactly one row per custom_id of the batch file":
            len(results) == len(rows) == len(lines) and set(rows) == {line["custom_id"] for line in lines},
        "each choice is what extract_choice reads from the output line with the same custom_id":
            same_choice,
        "requests with no answer in the output are not evaluated and count neither way":
            all(cid in rows and not rows[cid].evaluated and _missing(rows[cid].correct)
                for cid in set(asked) - answered),
        "evaluated rows are correct exactly when the choice is the dataset's answer":
            all(bool(row.evaluated) and bool(row.correct) == (row.choice == asked[row.custom_id]["answer"])
                for row in scored),
        "the accuracy you report is the share correct among evaluated answers only":
            accuracy is not None and bool(scored)
            and abs(accuracy - sum(bool(r.correct) for r in scored) / len(scored)) < 1e-9,
    }  # fmt: skip
    report = "\n".join(f"  {'✔' if ok else '✘'} {line}" for line, ok in rubric.items())
    if all(rubric.values()):
        return solved(f"every rubric line holds:\n{report}")
    return not_yet(f"some rubric lines do not hold yet:\n{report}")

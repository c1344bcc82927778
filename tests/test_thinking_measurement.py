"""Lesson 12's paired difference, recomputed from the raw MisguidedAttention files.

The lesson goes through ``utils.misguided_attention`` and ``utils.evals.paired``. Here the
xz-compressed JSON is read directly, twice: from the judge's per-answer verdicts
(``detailed_evaluations_*``) and from upstream's own per-prompt averages
(``evaluation_summary_*``). Both must give what the course computes and what the committed
lesson printed.
"""

import json
import lzma
import re
from statistics import mean

import nbformat
import pytest

from utils import misguided_attention as ma
from utils.evals.paired import compare_paired
from utils.paths import data_dir, repo_root

LESSON = repo_root() / "notebooks" / "12_thinking_models.ipynb"
PAIRS = {  # the lesson's name: (thinking file, the file without thinking)
    "Qwen3-235B-A22B": ("q3_235b-think", "q3-235-nothk"),
    "Qwen3-30B-A3B": ("q3_30ba3-think", "q3_30ba3"),
}


def _raw(kind: str, suffix: str) -> dict:
    name = f"qwen25max_outputs/misguided_attention/{kind}_{suffix}.json.xz"
    with lzma.open(data_dir() / name, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def means_from_verdicts(suffix: str) -> dict[str, float]:
    """Per prompt, the mean total_score of every judged answer (all llm names pooled)."""
    detailed = _raw("detailed_evaluations", suffix)
    return {
        prompt: mean(e["total_score"] for judged in by_llm.values() for e in judged)
        for prompt, by_llm in detailed.items()
    }


def means_from_summary(suffix: str) -> dict[str, float]:
    """Per prompt, upstream's own average_total_score (one llm name per prompt in these files)."""
    summary = _raw("evaluation_summary", suffix)
    means = {}
    for prompt, by_llm in summary.items():
        (stats,) = by_llm.values()
        means[prompt] = stats["average_total_score"]
    return means


def raw_difference(thinking: dict, plain: dict) -> tuple[float, int, int, int]:
    """Mean of thinking − plain over the prompts both have, and the prompts up, down, same."""
    d = [thinking[p] - plain[p] for p in thinking if p in plain]
    up = sum(x > 1e-9 for x in d)
    down = sum(x < -1e-9 for x in d)
    return mean(d), up, down, len(d) - up - down


@pytest.mark.parametrize("name", PAIRS)
def test_the_paired_difference_from_the_raw_verdicts_matches_upstream_and_the_course(name):
    think, plain = PAIRS[name]
    from_verdicts = raw_difference(means_from_verdicts(think), means_from_verdicts(plain))
    from_summary = raw_difference(means_from_summary(think), means_from_summary(plain))
    assert from_verdicts[1:] == from_summary[1:]
    assert from_verdicts[0] == pytest.approx(from_summary[0], abs=1e-12)
    course = compare_paired(
        ma.prompt_means(ma.load_evaluations(think)), ma.prompt_means(ma.load_evaluations(plain))
    )
    assert course.mean == pytest.approx(from_verdicts[0], abs=1e-12)
    assert (course.better, course.worse, course.ties) == from_verdicts[1:]
    assert course.n == 52 and course.left_out == 0


def _stored_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_the_committed_lesson_printed_the_raw_difference():
    think, plain = PAIRS["Qwen3-235B-A22B"]
    difference, up, down, same = raw_difference(
        means_from_verdicts(think), means_from_verdicts(plain)
    )
    stored = _stored_text(nbformat.read(LESSON, as_version=4))
    line = re.search(
        r"(\d+) prompts · mean difference ([+-][\d.]+) · better on (\d+), worse on (\d+), "
        r"the same on (\d+)",
        stored,
    )
    assert line, "the lesson's hand-computed paired difference is not in its stored outputs"
    assert int(line[1]) == up + down + same
    assert float(line[2]) == pytest.approx(difference, abs=5e-4)
    assert (int(line[3]), int(line[4]), int(line[5])) == (up, down, same)
    number = r"(?<![\d.])([+-]?\d\.\d+)"  # a score, not the tail of a token count
    row = re.search(rf"Qwen3-235B-A22B\s.*?{number}\s+{number}\s+{number}", stored)
    assert row and float(row[3]) == pytest.approx(difference, abs=5e-4)  # the table's column

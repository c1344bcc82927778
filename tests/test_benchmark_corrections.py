"""data/qwen25max_benchmarks/ is the corrected table: no value of the column-scrambled
transcription of the Qwen2.5 report is left where it was wrong."""

import hashlib
import math
from pathlib import Path

import pandas as pd
import pytest

from utils.datasets import load_reported_benchmarks
from utils.paths import data_dir

# The corrected files as the course's vetted data sources hold them (their SHA256SUMS,
# 2026-12-07). The folder itself is absent on a clean clone, so its sums are pinned here.
SHARED = Path("/work/shared/data-sources/qwen25max_benchmarks")
CORRECTED_SHA256 = {
    "base.csv": "8457264fb466ee5989e940ddf000710067cb620bbc1ea06e51d0793e641c6423",
    "instruct.csv": "85bb1b0c2dbab70005e39138b50b381204dd10ad560999921788b4b5a84c6fe0",
}
# (kind, model, benchmark): (the scrambled value, the corrected one). The scrambled values
# were Mixtral-8x22B's (base) and Qwen2-72B-Instruct's (instruct) in the same report tables.
SCRAMBLED = {
    ("base", "Llama-3.1-405B (base)", "MMLU-Pro"): (51.6, 61.6),
    ("base", "Llama-3.1-405B (base)", "BBH"): (78.9, 85.9),
    ("base", "Llama-3.1-405B (base)", "HumanEval"): (46.3, 61.0),
    ("base", "Llama-3.1-405B (base)", "MATH"): (41.7, 53.8),
    ("instruct", "Llama-3.1-405B-Instruct", "Arena-Hard"): (48.1, 69.3),
    ("instruct", "Llama-3.1-405B-Instruct", "GPQA"): (42.4, 51.1),
}


@pytest.mark.parametrize("name", sorted(CORRECTED_SHA256))
def test_the_files_are_the_corrected_ones(name):
    path = data_dir() / "qwen25max_benchmarks" / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == CORRECTED_SHA256[name]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared data sources are not on this machine")
@pytest.mark.parametrize("kind", ["base", "instruct"])
def test_every_score_equals_the_shared_corrected_file(kind):
    shared = pd.read_csv(SHARED / f"{kind}.csv")
    assert (
        hashlib.sha256((SHARED / f"{kind}.csv").read_bytes()).hexdigest()
        == (CORRECTED_SHA256[f"{kind}.csv"])
    )
    ours = load_reported_benchmarks(kind)
    assert len(ours) == len(shared)
    for mine, theirs in zip(ours.itertuples(), shared.itertuples(), strict=True):
        assert (mine.model, mine.benchmark, mine.source) == (
            theirs.model,
            theirs.benchmark,
            theirs.source,
        )
        if not math.isnan(mine.score) or not math.isnan(theirs.score):
            assert mine.score == theirs.score, (mine.model, mine.benchmark)


def scores(kind: str, model: str, benchmark: str) -> list[float]:
    table = load_reported_benchmarks(kind)
    rows = table[(table.model == model) & (table.benchmark == benchmark)]
    return rows["score"].tolist()


def test_known_anchors():
    assert scores("instruct", "Llama-3.1-405B-Instruct", "Arena-Hard") == [69.3]
    assert scores("instruct", "Qwen2.5-72B-Instruct", "Arena-Hard") == [81.2]
    assert scores("instruct", "DeepSeek-V3", "Arena-Hard") == [85.5]
    assert scores("base", "Llama-3.1-405B (base)", "MMLU") == [84.4, 85.2]  # DeepSeek's, Qwen's


def test_qwen2_72b_instructs_arena_hard_48_1_is_not_llamas():
    # 48.1 is Qwen2-72B-Instruct's Arena-Hard (Qwen2 blog); the row that held it is corrected
    table = load_reported_benchmarks("instruct")
    assert "Qwen2-72B-Instruct Arena-Hard 48.1" in " ".join(table["source"])
    assert 48.1 not in table["score"].tolist()


@pytest.mark.parametrize(("where", "values"), SCRAMBLED.items())
def test_no_scrambled_value_remains_where_it_was_wrong(where, values):
    kind, model, benchmark = where
    wrong, corrected = values
    found = scores(kind, model, benchmark)
    assert wrong not in found and corrected in found
    row = load_reported_benchmarks(kind)
    source = row[(row.model == model) & (row.benchmark == benchmark) & (row.score == corrected)]
    assert f"CORRECTED from {wrong}" in source["source"].item()


def test_blank_scores_stay_blank_and_say_not_found():
    for kind in ("base", "instruct"):
        table = load_reported_benchmarks(kind)
        blank = table[table["score"].isna()]
        assert not blank.empty and blank["source"].str.startswith("NOT FOUND").all()

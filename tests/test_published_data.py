"""The published outputs in data/qwen25max_outputs/ load as upstream wrote them, and the
scores recomputed from them give the numbers upstream reports."""

import json
import lzma

import pandas as pd
import pytest

from utils import livebench, misguided_attention, pfgen_bench
from utils.paths import data_dir

MA = data_dir() / "qwen25max_outputs" / "misguided_attention"


def raw(kind: str, suffix: str):
    with lzma.open(MA / f"{kind}_{suffix}.json.xz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


def test_misguided_attention_stays_compressed():
    assert not list(MA.glob("*.json")), "keep MisguidedAttention's JSON xz-compressed"
    for suffix in misguided_attention.FILES:
        for kind in ("output_queries", "detailed_evaluations", "evaluation_summary"):
            assert (MA / f"{kind}_{suffix}.json.xz").is_file(), (kind, suffix)
    assert "CC0" in (MA / "LICENSE").read_text()


@pytest.mark.parametrize("suffix", sorted(misguided_attention.FILES))
def test_outputs_are_every_answer_in_the_file(suffix):
    outputs = misguided_attention.load_outputs(suffix)
    results = raw("output_queries", suffix)["results"]
    assert len(outputs) == sum(len(r["output"]) for r in results)
    assert list(outputs["output"]) == [text for r in results for text in r["output"]]
    assert set(outputs["sample"]) == {0, 1, 2}
    assert outputs["prompt_id"].nunique() >= 52
    info = misguided_attention.model_file(suffix)
    assert info.llm in set(outputs["llm"])
    assert outputs["thinking"].notna().any() == info.thinking  # a trace only where one is stored


@pytest.mark.parametrize("suffix", sorted(misguided_attention.FILES))
def test_each_verdict_is_matched_to_the_answer_it_judged(suffix):
    outputs = misguided_attention.load_outputs(suffix).set_index(["prompt_id", "llm", "sample"])
    evaluations = misguided_attention.load_evaluations(suffix)
    judged = raw("detailed_evaluations", suffix)
    assert len(evaluations) == sum(len(v) for by in judged.values() for v in by.values())
    assert not evaluations.duplicated(["prompt_id", "llm", "sample"]).any()
    for row in evaluations.itertuples():
        assert outputs.loc[(row.prompt_id, row.llm, row.sample), "output"] == row.output
        assert 0 <= row.total_score <= 1
    verdicts = misguided_attention.load_verdicts(suffix)
    assert len(verdicts) == evaluations["criteria"].map(len).sum()
    assert verdicts["met"].map(type).eq(bool).all()


@pytest.mark.parametrize("suffix", ["qwenmax", "dsv3", "QwQ-32b", "q3_235b-think"])
def test_weighted_criteria_reproduce_every_total_score(suffix):
    weights = misguided_attention.load_criteria().groupby("prompt_id")["weight"].apply(list)
    for row in misguided_attention.load_evaluations(suffix).itertuples():
        met = [m for _, m in row.criteria]
        assert misguided_attention.weighted_score(met, weights[row.prompt_id]) == row.total_score


def test_weighted_score_is_clipped_and_checks_its_lengths():
    assert misguided_attention.weighted_score([True, True], [1.0, 0.5]) == 1.0
    assert misguided_attention.weighted_score([True, False], [0.0, 1.0]) == 0.0
    assert misguided_attention.weighted_score([False, True], [0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="2 verdicts for 3 criteria"):
        misguided_attention.weighted_score([True, False], [1.0, 0.0, 0.0])


def test_criteria_cover_every_prompt():
    criteria = misguided_attention.load_criteria()
    assert criteria["prompt_id"].nunique() == 52 and len(criteria) == 93
    assert criteria.groupby("prompt_id")["weight"].sum().between(1.0, 1.5).all()


def test_qwen25_max_mean_is_upstreams_0_314():
    evaluations = misguided_attention.load_evaluations("qwenmax")
    published = misguided_attention.load_average_scores()
    assert round(misguided_attention.overall_mean(evaluations), 3) == published["qwen-max"] == 0.314
    assert round(misguided_attention.overall_mean(evaluations, per="sample"), 3) == 0.315
    assert len(evaluations) == 154  # two answers were never judged upstream
    means = misguided_attention.prompt_means(evaluations)
    assert len(means) == 52 and means.between(0, 1).all()
    with pytest.raises(ValueError, match="per must be"):
        misguided_attention.overall_mean(evaluations, per="model")


@pytest.mark.parametrize(
    ("suffix", "name"),
    [("dsv3", "DeepSeek-V3"), ("4o", "gpt-4o-2024-11-20"), ("dsr1", "deepseek-r1")],
)
def test_other_means_match_average_scores(suffix, name):
    mean = misguided_attention.overall_mean(misguided_attention.load_evaluations(suffix))
    assert round(mean, 3) == misguided_attention.load_average_scores()[name]


def test_judges_differ_between_files():
    judges = {s: misguided_attention.judge_of(s) for s in misguided_attention.FILES}
    assert judges["qwenmax"] == "meta-llama/llama-3.3-70b-instruct"
    assert judges["dsv3"] == judges["4o"] == "microsoft/phi-4"
    with pytest.raises(ValueError, match="known"):
        misguided_attention.judge_of("qwen-max")


def test_prompts_are_one_per_id():
    prompts = misguided_attention.load_prompts()
    assert len(prompts) == 52 and prompts.index.is_unique
    assert "five dead people" in prompts["trolley_problem_easy"]


def test_pfgen_bench_recomputes_0_8359():
    questions = pfgen_bench.load_questions()
    assert len(questions) == 50 and questions.index[0] == "Q01"
    assert round(questions["score"].mean(), 4) == pfgen_bench.reported_score() == 0.8359
    config = pfgen_bench.load_config()
    assert config["temperature"] == 0.0 and config["model"] == "Qwen/Qwen-Max-2025-01-25"


def test_pfgen_bench_trials_and_scored_samples():
    trials = pfgen_bench.load_trials()
    assert len(trials) == 500 and trials["question_id"].notna().all()
    assert trials.groupby("question_id")["trial"].max().eq(9).all()
    samples = pfgen_bench.load_scored_samples()
    assert len(samples) == 250 and samples["answer"].isin(trials["answer"]).all()
    assert samples.groupby("question_id").size().eq(5).all() and samples["score"].gt(0).all()


def test_livebench_tables_and_categories():
    for release in livebench.RELEASES:
        table = livebench.load_table(release)
        categories = livebench.load_categories(release)
        assert len(categories) == 6 and "qwen2.5-max" in table.index
        assert sorted(t for tasks in categories.values() for t in tasks) == sorted(table.columns)
    assert "deepseek-v3" in livebench.load_table("2024_11_25").index
    with pytest.raises(ValueError, match="2024_11_25"):
        livebench.load_table("2025_01_01")


def test_livebench_global_is_the_mean_of_category_means():
    table = pd.DataFrame({"a": [10.0, 0.0], "b": [30.0, 0.0], "c": [50.0, None]}, index=["x", "y"])
    by_category = livebench.category_averages(table, {"one": ["a", "b"], "two": ["c"]})
    assert by_category.loc["x"].tolist() == [20.0, 50.0]
    assert livebench.global_average(by_category)["x"] == 35.0  # not the task mean, 30
    assert pd.isna(livebench.global_average(by_category)["y"])  # a missing task is not skipped


def test_livebench_averages_of_the_two_rivals():
    table = livebench.load_table("2024_11_25")
    overall = livebench.global_average(
        livebench.category_averages(table, livebench.load_categories("2024_11_25"))
    )
    # the "context only" values quoted in data/qwen25max_benchmarks/instruct.csv
    assert round(overall["qwen2.5-max"], 2) == 62.29
    assert round(overall["deepseek-v3"], 2) == 60.45

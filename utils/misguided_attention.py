"""MisguidedAttention's published answers and judge verdicts (``data/qwen25max_outputs/``).

52 trick prompts: famous puzzles with one detail changed. Each model answered each prompt three
times, and an LLM judge marked every answer against the prompt's written criteria (``met`` or
not). Each criterion has a weight (``load_criteria``, some are 0); an answer's ``total_score``
is the sum of the weights of the criteria met, clipped to 0..1 (``weighted_score``). The files are kept xz-compressed, as
upstream keeps its prompts out of crawlers' reach: load them here, and never print them all.

One file set per model, named by a suffix (``"qwenmax"``, ``"dsv3"``, ...; see ``FILES``).
Which judge scored a file differs (``judge_of``): compare models scored by the same judge.
"""

from __future__ import annotations

import json
import lzma
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from utils.paths import data_dir

UPSTREAM = "cpldcpu/MisguidedAttention"
UPSTREAM_COMMIT = "bbae011e1fb5ce239373cb2f381787baec0dd236"
DATASET_COMMIT = "7ae31ba"  # the prompt file (criteria, weights) as Qwen2.5-Max was judged
LICENCE = "CC0 1.0"


@dataclass(frozen=True)
class ModelFile:
    """One model's file set: what answered, how it was sampled, and which judge scored it."""

    suffix: str  # in the file names: output_queries_<suffix>.json.xz
    llm: str  # the model name as the files record it
    api_model: str  # the id the queries were sent to
    sampling: str
    commit: str  # the upstream commit that added the outputs and evaluations
    date: str  # that commit's date
    judge: str  # the judge model named in upstream's evaluation script at that commit
    thinking: bool = False  # whether a thinking trace is stored


def _qwen3(suffix: str, model: str, thinking: bool) -> ModelFile:
    """A Qwen3 file set of upstream's commit 2ae53b3: ``/think`` or ``/no_think`` as system prompt."""
    mode = "think" if thinking else "nothink"
    return ModelFile(
        suffix,
        f"{model}-{mode}",
        f"OpenRouter qwen/{model}, system prompt /{'think' if thinking else 'no_think'}",
        "as upstream's query_config at that commit",
        "2ae53b3",
        "2025-04-30",
        "meta-llama/llama-3.3-70b-instruct",
        thinking,
    )


FILES = {
    f.suffix: f
    for f in (
        ModelFile(
            "qwenmax",
            "qwen-max",
            "OpenRouter qwen/qwen-max",
            "temperature 0.7, max_tokens 2000",
            "7ae31ba",
            "2025-02-04",
            "meta-llama/llama-3.3-70b-instruct",
        ),
        ModelFile(
            "QwQ-32b",
            "QwQ-32b",
            "OpenRouter qwen/qwq-32b",
            "temperature 0.6, max_tokens 32000",
            "0ec76b9",
            "2025-04-03",
            "meta-llama/llama-3.3-70b-instruct",
            True,
        ),
        _qwen3("q3_235b-think", "qwen3-235b-a22b", thinking=True),
        _qwen3("q3-235-nothk", "qwen3-235b-a22b", thinking=False),
        _qwen3("q3_30ba3-think", "qwen3-30b-a3b", thinking=True),
        _qwen3("q3_30ba3", "qwen3-30b-a3b", thinking=False),
        ModelFile(
            "dsv3",
            "DeepSeek-V3",
            "DeepSeek API deepseek-chat",
            "as upstream's query_config at that commit",
            "fac23f6",
            "2025-01-26",
            "microsoft/phi-4",
        ),
        ModelFile(
            "dsr1",
            "deepseek-r1",
            "DeepSeek API deepseek-reasoner",
            "as upstream's query_config at that commit (R1's trace not stored)",
            "101719a",
            "2025-01-27",
            "microsoft/phi-4",
        ),
        ModelFile(
            "sonnet37",
            "claude-3.7-sonnet",
            "OpenRouter anthropic/claude-3.7-sonnet",
            "as upstream's query_config at that commit",
            "3ff3f21",
            "2025-02-24",
            "meta-llama/llama-3.3-70b-instruct",
        ),
        ModelFile(
            "son_thk4k",
            "claude-3.7-thinking-4k",
            "OpenRouter anthropic/claude-3.7-sonnet:thinking",
            "thinking budget 4096",
            "4ea77da",
            "2025-03-01",
            "meta-llama/llama-3.3-70b-instruct",
            True,
        ),
        ModelFile(
            "4o",
            "gpt-4o-2024-11-20",
            "OpenRouter openai/gpt-4o-2024-11-20",
            "as upstream's query_config at that commit",
            "101719a",
            "2025-01-27",
            "microsoft/phi-4",
        ),
    )
}
QWEN25_MAX = "qwenmax"  # Qwen2.5-Max's file set
ALIAS_CAVEAT = (
    "`qwen/qwen-max` is OpenRouter's alias for Qwen2.5-Max, not the pinned snapshot "
    "qwen-max-2025-01-25: upstream did not record which snapshot answered"
)


def folder() -> Path:
    """Where the files are: ``data/qwen25max_outputs/misguided_attention``."""
    return data_dir() / "qwen25max_outputs" / "misguided_attention"


def model_file(suffix: str) -> ModelFile:
    """The ``ModelFile`` for ``suffix``; a clear error lists the known ones."""
    if suffix not in FILES:
        raise ValueError(f"no MisguidedAttention files for {suffix!r}; known: {sorted(FILES)}")
    return FILES[suffix]


def judge_of(suffix: str) -> str:
    """The judge model that scored ``suffix``'s answers."""
    return model_file(suffix).judge


def relative_path(kind: str, suffix: str) -> str:
    """``kind`` (``output_queries``, ``detailed_evaluations``, ``evaluation_summary``) file,
    as a path inside ``data/``."""
    model_file(suffix)
    return f"qwen25max_outputs/misguided_attention/{kind}_{suffix}.json.xz"


@cache
def _read(kind: str, suffix: str):
    with lzma.open(data_dir() / relative_path(kind, suffix), "rt", encoding="utf-8") as handle:
        return json.load(handle)


def load_outputs(suffix: str = QWEN25_MAX) -> pd.DataFrame:
    """Every answer in ``suffix``'s file, one row per sample, in the file's order.

    Columns ``prompt_id, llm, sample`` (0, 1, 2), ``prompt, output`` (None where the model
    returned nothing), ``thinking`` (the trace, or None where none is stored) and ``timestamp``. A prompt asked twice (QwQ-32b's file
    has one prompt under two ``llm`` names) keeps both runs.
    """
    rows = []
    for result in _read("output_queries", suffix)["results"]:
        traces = result.get("thinking") or [None] * len(result["output"])
        for sample, (output, thinking) in enumerate(zip(result["output"], traces, strict=True)):
            rows.append(
                {
                    "prompt_id": result["prompt_id"],
                    "llm": result["llm"],
                    "sample": sample,
                    "prompt": result["prompt"],
                    "output": output,
                    "thinking": thinking or None,
                    "timestamp": result["timestamp"],
                }
            )
    table = pd.DataFrame(rows, dtype=object)  # object: a missing answer stays None, not NaN
    table["sample"] = table["sample"].astype(int)
    return table


def load_prompts(suffix: str = QWEN25_MAX) -> pd.Series:
    """The prompts, by ``prompt_id`` (in ``suffix``'s outputs; do not print them all)."""
    outputs = load_outputs(suffix).drop_duplicates("prompt_id")
    return outputs.set_index("prompt_id")["prompt"]


def load_criteria() -> pd.DataFrame:
    """Each prompt's written criteria and their weights, from upstream's prompt file at
    ``DATASET_COMMIT``: ``prompt_id, criterion_index, criterion, weight``, plus the prompt's
    ``title`` and ``category``. (Do not print them all: they give the prompts away.)"""
    with lzma.open(folder() / "misguided_attention_v4_long.json.xz", "rt", encoding="utf-8") as f:
        prompts = json.load(f)["prompts"]
    rows = [
        {
            "prompt_id": p["prompt_id"],
            "criterion_index": i,
            "criterion": criterion,
            "weight": float(weight),
            "title": p["title"],
            "category": p["category"],
        }
        for p in prompts
        for i, (criterion, weight) in enumerate(zip(p["criteria"], p["weight"], strict=True))
    ]
    return pd.DataFrame(rows)


def weighted_score(met: list[bool], weights: list[float]) -> float:
    """Upstream's score of one answer: the weights of the criteria met, summed, clipped to 0..1."""
    if len(met) != len(weights):
        raise ValueError(f"{len(met)} verdicts for {len(weights)} criteria")
    return max(0.0, min(1.0, sum(w for w, ok in zip(weights, met, strict=True) if ok)))


def load_evaluations(suffix: str = QWEN25_MAX) -> pd.DataFrame:
    """The judge's scores, one row per judged answer.

    Columns ``prompt_id, llm, sample`` (the answer's index in ``load_outputs``, matched by its
    text), ``total_score``, ``criteria`` (a list of ``(criterion, met)``) and ``output``. A few
    answers were never judged upstream: they have no row here.
    """
    answers: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    for row in load_outputs(suffix).itertuples():
        answers.setdefault((row.prompt_id, row.llm), []).append((row.sample, row.output))
    rows = []
    for prompt_id, by_model in _read("detailed_evaluations", suffix).items():
        for llm, judged in by_model.items():
            unused = list(answers.get((prompt_id, llm), []))
            for evaluation in judged:
                text = evaluation["original_response"]
                match = next((pair for pair in unused if pair[1] == text), None)
                if match is None:
                    raise ValueError(
                        f"{suffix}: a judged answer to {prompt_id} is not in the outputs"
                    )
                unused.remove(match)
                criteria = [
                    (c["criterion"], bool(c["met"])) for c in evaluation["criteria_results"]
                ]
                rows.append(
                    {
                        "prompt_id": prompt_id,
                        "llm": llm,
                        "sample": match[0],
                        "total_score": float(evaluation["total_score"]),
                        "criteria": criteria,
                        "output": text,
                    }
                )
    return pd.DataFrame(rows)


def load_verdicts(suffix: str = QWEN25_MAX) -> pd.DataFrame:
    """The judge's per-criterion verdicts: ``prompt_id, llm, sample, criterion_index,
    criterion`` (as the judge wrote it back; it sometimes rewords it) and ``met``."""
    rows = [
        {
            "prompt_id": e.prompt_id,
            "llm": e.llm,
            "sample": e.sample,
            "criterion_index": i,
            "criterion": c,
            "met": met,
        }
        for e in load_evaluations(suffix).itertuples()
        for i, (c, met) in enumerate(e.criteria)
    ]
    return pd.DataFrame(rows)


def prompt_means(evaluations: pd.DataFrame) -> pd.Series:
    """Mean ``total_score`` per prompt (over its judged samples), by ``prompt_id``."""
    return evaluations.groupby("prompt_id", sort=False)["total_score"].mean()


def overall_mean(evaluations: pd.DataFrame, per: str = "prompt") -> float:
    """The mean score: of the per-prompt means (``per="prompt"``, as upstream's
    ``average_scores.txt``) or of every judged sample (``per="sample"``)."""
    if per == "prompt":
        return float(prompt_means(evaluations).mean())
    if per == "sample":
        return float(evaluations["total_score"].mean())
    raise ValueError("per must be 'prompt' or 'sample'")


def load_average_scores() -> pd.Series:
    """Upstream's published ``average_scores.txt``: mean score by model name (18 models)."""
    lines = (folder() / "average_scores.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t") for line in lines if line.strip()]
    return pd.Series({name: float(score) for name, score in pairs}, name="average_score")

"""Reading published results: where each number came from, charts that show gaps, and
Arena-Hard's published battles, answers and leaderboard (``data/arena_hard/``).

Works on ``utils.datasets.load_reported_benchmarks()`` frames (``model, benchmark, score,
source``). A blank score means no source transcribed it; it stays blank and is drawn as
"not transcribed", never filled in.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch

from utils.datasets import read_jsonl
from utils.paths import data_dir

ARENA_HARD_BASELINE = "gpt-4-0314"  # Arena-Hard v0.1's baseline: every published score is vs it


def load_arena_hard_battles() -> pd.DataFrame:
    """1,348 real Arena-Hard battles against claude-3-haiku-20240307, in upstream's row order.

    Columns ``question_id, model_a, model_b, winner``; see ``data/README.md`` for what they
    are (and are not): two games per question, a strong verdict repeated three times.
    """
    return pd.DataFrame(read_jsonl(data_dir() / "arena_hard" / "arena_hard_battles.jsonl"))


def load_arena_hard_answers(model: str) -> dict[str, str]:
    """A model's published answers to Arena-Hard v0.1, by question ``uid``.

    ``model`` is ``"gpt-4-0314"`` (the baseline) or ``"gpt-3.5-turbo-0125"``.
    """
    path = data_dir() / "arena_hard" / f"arena-hard-v0.1_model_answer_{model}.jsonl"
    if not path.exists():
        stored = sorted(
            p.name.removeprefix("arena-hard-v0.1_model_answer_").removesuffix(".jsonl")
            for p in path.parent.glob("arena-hard-v0.1_model_answer_*.jsonl")
        )
        raise ValueError(f"no stored answers for {model!r}; the course has answers of {stored}")
    answers = {}
    for row in read_jsonl(path):
        reply = next(m["content"] for m in row["messages"] if m["role"] == "assistant")
        answers[row["uid"]] = reply["answer"] if isinstance(reply, dict) else reply
    return answers


def load_arena_hard_leaderboard() -> pd.DataFrame:
    """Arena-Hard v0.1's published leaderboard of 2024-07-31 (judge GPT-4-Turbo, baseline
    gpt-4-0314, 500 questions): ``score`` and its 95% bootstrap interval ``low``–``high`` in %,
    and the answers' mean length ``avg_tokens``, by model (60 rows).
    """
    table = pd.read_csv(data_dir() / "arena_hard" / "arena_hard_leaderboard_20240731.csv")
    table = table.rename(columns={"rating_q025": "low", "rating_q975": "high"})
    return table.set_index("model")[["score", "low", "high", "avg_tokens"]]


MAKERS = {
    "Qwen": "Qwen",
    "DeepSeek": "DeepSeek",
    "Llama": "Meta",
    "Claude": "Anthropic",
    "GPT": "OpenAI",
}
PUBLISHERS = {  # a source's words -> who published the number there
    "deepseek-ai/DeepSeek-V3": "DeepSeek",
    "arXiv 2412.19437": "DeepSeek",
    "arXiv 2412.15115": "Qwen",
    "QwenLM/": "Qwen",
    "meta-llama/": "Meta",
}
EVALUATORS = {  # third parties that run a benchmark themselves and publish every model's result
    "LiveBench/": "LiveBench",
    "cpldcpu/MisguidedAttention": "MisguidedAttention",
    "pfnet-research/pfgen-bench": "pfgen-bench",
    "lmarena/arena-hard-auto": "Arena-Hard",
}


def source_kind(model: str, source: str) -> str:
    """Who ran the number in a row's ``source`` note, for ``model``.

    ``"its makers"``, ``"a competitor (X)"`` (another model's makers, in their own report),
    ``"a third party's own run (X)"`` (a benchmark's maintainers running every model),
    ``"third-party compilation"`` (copied from somewhere) or ``"not found"``. Only the first
    part of the note (up to the first ";") counts: that is where the number was read; later
    parts are cross-checks.
    """
    if source.startswith("NOT FOUND"):
        return "not found"
    first = source.split(";")[0]
    evaluator = next((who for key, who in EVALUATORS.items() if key in first), None)
    if evaluator is not None:
        return f"a third party's own run ({evaluator})"
    publisher = next((who for key, who in PUBLISHERS.items() if key in first), None)
    if publisher is None:
        return "third-party compilation"
    maker = next((who for prefix, who in MAKERS.items() if model.startswith(prefix)), None)
    return "its makers" if publisher == maker else f"a competitor ({publisher})"


def source_disagreements(reported: pd.DataFrame) -> pd.DataFrame:
    """Model/benchmark pairs listed twice: both scores, both sources and the gap, largest first."""
    columns = ["model", "benchmark", "score_1", "score_2", "gap", "source_1", "source_2"]
    twice = reported[reported.duplicated(["model", "benchmark"], keep=False)]
    rows = [
        {
            "model": model,
            "benchmark": benchmark,
            "score_1": group["score"].iloc[0],
            "score_2": group["score"].iloc[1],
            "gap": round(group["score"].iloc[1] - group["score"].iloc[0], 1),
            "source_1": group["source"].iloc[0],
            "source_2": group["source"].iloc[1],
        }
        for (model, benchmark), group in twice.groupby(["model", "benchmark"], sort=False)
    ]
    table = pd.DataFrame(rows, columns=columns)
    order = table["gap"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def grouped_bars(
    scores: pd.DataFrame, title: str, hatches: dict[str, str] | None = None, ax=None
) -> plt.Axes:
    """Bars grouped by ``benchmark``, one colour per ``model``; blank scores say so.

    ``scores`` has columns ``model``, ``benchmark``, ``score`` and optionally ``hatch`` (a
    matplotlib hatch pattern or ""); ``hatches`` maps each pattern to its legend text.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.5))
    benchmarks = list(dict.fromkeys(scores["benchmark"]))  # in the table's order
    models = list(dict.fromkeys(scores["model"]))
    width = 0.84 / len(models)
    top = scores["score"].max()
    for k, model in enumerate(models):
        for row in scores[scores["model"] == model].itertuples():
            x = benchmarks.index(row.benchmark) + (k - (len(models) - 1) / 2) * width
            if pd.isna(row.score):
                ax.text(x, 1, "not transcribed", rotation=90, ha="center", va="bottom",
                        fontsize=7, color=f"C{k}")  # fmt: skip
            else:
                hatch = getattr(row, "hatch", "") or None
                ax.bar(x, row.score, width, color=f"C{k}", hatch=hatch, edgecolor="white")
    handles = [Patch(color=f"C{k}", label=model) for k, model in enumerate(models)]
    handles += [
        Patch(facecolor="lightgrey", hatch=pattern, edgecolor="white", label=text)
        for pattern, text in (hatches or {}).items()
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xticks(range(len(benchmarks)), benchmarks)
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel("published score")
    ax.set_title(title)
    return ax

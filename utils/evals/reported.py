"""Reading published results: where each number came from, and charts that show gaps.

Works on ``utils.datasets.load_reported_benchmarks()`` frames (``model, benchmark, score,
source``). A blank score means no source transcribed it; it stays blank and is drawn as
"not transcribed", never filled in.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch

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

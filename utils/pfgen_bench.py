"""pfgen-bench's published run of ``qwen-max-2025-01-25`` (``data/qwen25max_outputs/pfgen_bench``).

50 Japanese general-knowledge questions, 10 trials each, from the exact snapshot id at
temperature 0 (max_tokens 300, a 20-shot "qa" prompt). Scoring is deterministic (n-gram
fluency, truthfulness and helpfulness against reference answers; no LLM judge). Upstream:
pfnet-research/pfgen-bench, ``result/Qwen/Qwen-Max-2025-01-25/fa9558d/``, added 2025-01-30.
"""

from __future__ import annotations

import json
import lzma
from functools import cache
from pathlib import Path

import pandas as pd

from utils.paths import data_dir

UPSTREAM = "pfnet-research/pfgen-bench"
UPSTREAM_COMMIT = "a3480f6"  # the commit that added this run (2025-01-30)
MODEL = "qwen-max-2025-01-25"  # the exact snapshot id the answers came from
TRIALS = "qwen25max_outputs/pfgen_bench/trials.jsonl.xz"  # inside data/


def folder() -> Path:
    """Where the files are: ``data/qwen25max_outputs/pfgen_bench``."""
    return data_dir() / "qwen25max_outputs" / "pfgen_bench"


@cache
def load_result() -> dict:
    """Upstream's ``result.json``: ``config``, the reported ``score`` and ``questions``."""
    with lzma.open(folder() / "result.json.xz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


def load_config() -> dict:
    """How the run was made: engine, model, temperature, max_tokens, mode, shots."""
    return json.loads((folder() / "config.json").read_text(encoding="utf-8"))


def load_questions() -> pd.DataFrame:
    """One row per question, by ``question_id`` (``Q01`` ...): ``question, score, score_std,
    length`` (characters) and the ``fluency``, ``truthfulness``, ``helpfulness`` parts."""
    rows = {
        qid: {
            "question": q["question"],
            "score": q["score"],
            "score_std": q["score_std"],
            "length": q["length"],
            "fluency": sum(q["scores"]["fluency"].values()),
            "truthfulness": sum(q["scores"]["truthfulness"].values()),
            "helpfulness": q["scores"]["helpfulness"],
        }
        for qid, q in load_result()["questions"].items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("question_id")


def load_scored_samples() -> pd.DataFrame:
    """The answers upstream scored one by one: ``question_id, answer, timestamp, score``."""
    rows = [
        {
            "question_id": qid,
            "answer": s["answer"],
            "timestamp": s["timestamp"],
            "score": s["scores"]["average"],
        }
        for qid, q in load_result()["questions"].items()
        for s in q["samples"]
    ]
    return pd.DataFrame(rows)


def load_trials() -> pd.DataFrame:
    """All 500 answers: ``question_id, trial`` (0..9 per question, in file order),
    ``question, answer, timestamp``."""
    ids = {q["question"]: qid for qid, q in load_result()["questions"].items()}
    with lzma.open(data_dir() / TRIALS, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    table = pd.DataFrame(rows)
    table.insert(0, "question_id", table["question"].map(ids))
    table.insert(1, "trial", table.groupby("question_id").cumcount())
    return table


def reported_score() -> float:
    """The score upstream reports for this run (``result.json``'s ``score``)."""
    return float(load_result()["score"])

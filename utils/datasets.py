"""Loaders for the data in ``data/`` (see ``data/README.md`` for sources and licences).

Every loader reads a local file: nothing is fetched from a hub at run time.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from utils.paths import data_dir


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file (``.jsonl`` or gzip-compressed ``.jsonl.gz``)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_humaneval() -> list[dict]:
    """HumanEval's 164 problems: ``task_id, prompt, entry_point, canonical_solution, test``."""
    return read_jsonl(data_dir() / "humaneval" / "HumanEval.jsonl.gz")


_GSM8K_FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


def gsm8k_final_answer(solution: str) -> float:
    """The number after ``####`` on the last line of a GSM8K solution (commas removed)."""
    match = _GSM8K_FINAL.search(solution.strip())
    if match is None:
        raise ValueError(f"no '#### <number>' line in: {solution[-80:]!r}")
    return float(match.group(1).replace(",", ""))


def load_gsm8k() -> list[dict]:
    """GSM8K's 1,319 test problems: ``question, answer`` plus the parsed ``final_answer``."""
    rows = read_jsonl(data_dir() / "gsm8k" / "test.jsonl")
    return [{**row, "final_answer": gsm8k_final_answer(row["answer"])} for row in rows]


def load_mmlu_dev() -> pd.DataFrame:
    """MMLU's dev split, 5 questions × 57 subjects: ``subject, question, A, B, C, D, answer``."""
    frames = []
    for path in sorted((data_dir() / "mmlu" / "dev").glob("*_dev.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        frame = pd.DataFrame(rows, columns=["question", "A", "B", "C", "D", "answer"])
        frame.insert(0, "subject", path.name.removesuffix("_dev.csv"))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def load_mmlu_pro() -> list[dict]:
    """The 140-question MMLU-Pro sample (10 per category): ``question, options, answer, ...``.

    ``options`` has 3 to 10 entries (lettered A–J); ``answer`` is the correct letter.
    """
    return read_jsonl(data_dir() / "mmlu_pro" / "mmlu_pro_test_sample140.jsonl")


def load_arena_hard_questions() -> list[dict]:
    """Arena-Hard v0.1's 500 questions: ``uid, category, cluster, prompt``."""
    return read_jsonl(data_dir() / "arena_hard" / "arena-hard-v0.1_question.jsonl")


def load_arena_hard_baseline() -> dict[str, str]:
    """GPT-4-0314's answers to Arena-Hard v0.1 (the benchmark's baseline), by question ``uid``."""
    rows = read_jsonl(data_dir() / "arena_hard" / "arena-hard-v0.1_model_answer_gpt-4-0314.jsonl")
    return {row["uid"]: _assistant_text(row["messages"]) for row in rows}


def _assistant_text(messages: list[dict]) -> str:
    content = next(m["content"] for m in messages if m["role"] == "assistant")
    return content["answer"] if isinstance(content, dict) else content


def load_hh_rlhf() -> list[dict]:
    """Anthropic HH-RLHF harmless-base test pairs: ``chosen, rejected`` transcripts.

    Content warning: red-team data with offensive requests by design.
    """
    return read_jsonl(data_dir() / "hh_rlhf" / "harmless-base_test.jsonl.gz")


def split_hh_transcript(transcript: str) -> list[dict]:
    """``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` → chat messages (``user`` / ``assistant``)."""
    parts = re.split(r"\n\n(Human|Assistant): ", "\n\n" + transcript.strip("\n").lstrip())
    roles = {"Human": "user", "Assistant": "assistant"}
    return [
        {"role": roles[speaker], "content": text.strip()} for speaker, text in _pairs(parts[1:])
    ]


def _pairs(items: list[str]) -> Iterator[tuple[str, str]]:
    return zip(items[::2], items[1::2], strict=True)


def load_reported_benchmarks(kind: str = "instruct") -> pd.DataFrame:
    """Published scores compared in the Qwen2.5-Max announcement: ``model, benchmark, score, source``.

    ``kind`` is ``"instruct"`` or ``"base"``. ``score`` is NaN where no source transcribed it:
    those blanks are kept, never filled in.
    """
    if kind not in ("instruct", "base"):
        raise ValueError("kind must be 'instruct' or 'base'")
    return pd.read_csv(data_dir() / "qwen25max_benchmarks" / f"{kind}.csv")

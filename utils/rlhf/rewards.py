"""Verifiable rewards: read the final number of an answer and check it exactly (GSM8K style)."""

from __future__ import annotations

import math
import re

# A number as people write it: optional minus, thousands commas ("1,234") or plain digits,
# optional decimals. "1,2,3" is three numbers, not 123; the "-" in "5-3" is not a sign.
_NUMBER = r"(?<![\d.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
# Where an answer states its result explicitly; the last such statement wins.
_MARKED = [
    re.compile(r"####\s*\$?\s*(" + _NUMBER + ")"),  # GSM8K's own format
    re.compile(r"\\boxed\{\s*\$?\s*(" + _NUMBER + r")\s*\}"),  # LaTeX \boxed{...}
]
# "the answer is 12", "Answer: 12", "answer is: $12", "The answer is 5 + 7 = 12" (not "answer 3
# questions"): the statement runs to the end of its sentence or line.
_ANSWER_MARK = re.compile(r"answer(?:\s+is\b\s*[:=]?|\s*[:=])", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\n|\.(?:\s|$)")
_ANY = re.compile(_NUMBER)


def _to_float(text: str) -> float:
    return float(text.replace(",", ""))


def _stated_answer(text: str) -> str | None:
    """The number the last "answer is ..." statement gives: after its last "=", if any."""
    number = None
    for mark in _ANSWER_MARK.finditer(text):
        rest = text[mark.end() :]
        end = _SENTENCE_END.search(rest)
        statement = (rest[: end.start()] if end else rest).rsplit("=", 1)[-1]
        found = _ANY.search(statement.replace("$", ""))  # "-$5" is -5
        number = found.group(0) if found else number
    return number


def extract_number(text: str | None) -> float | None:
    """The answer's final number: after '####', in \\boxed{}, after 'answer is', else the last one.

    Returns None when the text holds no number (a failed parse is counted, never a crash).
    """
    if not text:
        return None
    for pattern in _MARKED:
        found = pattern.findall(text)
        if found:
            return _to_float(found[-1])
    if (stated := _stated_answer(text)) is not None:
        return _to_float(stated)
    found = _ANY.findall(text)
    return _to_float(found[-1]) if found else None


def exact_match_reward(text: str | None, target: float) -> float:
    """1.0 if the answer's final number equals ``target`` exactly (to 1e-6), else 0.0."""
    number = extract_number(text)
    return float(number is not None and math.isclose(number, target, rel_tol=0, abs_tol=1e-6))

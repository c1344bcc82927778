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
    # "the answer is 12", "Answer: 12", "answer is: $12", "The answer is **12**"
    re.compile(r"answer\s*(?:is)?\s*[:=]?[\s*$]*(" + _NUMBER + ")", re.IGNORECASE),
]
_ANY = re.compile(_NUMBER)


def _to_float(text: str) -> float:
    return float(text.replace(",", ""))


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
    found = _ANY.findall(text)
    return _to_float(found[-1]) if found else None


def exact_match_reward(text: str | None, target: float) -> float:
    """1.0 if the answer's final number equals ``target`` exactly (to 1e-6), else 0.0."""
    number = extract_number(text)
    return float(number is not None and math.isclose(number, target, rel_tol=0, abs_tol=1e-6))

"""LLM-as-judge: one model compares two answers, in both orders, Arena-Hard style.

The judge ends its reply with one verdict label: ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``,
``[[B>A]]`` or ``[[B>>A]]``. Judges favour one position, so every pair is judged twice, with
the answers swapped the second time, and the two verdicts are combined into one outcome. A
reply with no readable label (or with conflicting ones) is counted as unparseable, never
guessed. The labels, the prompt and Arena-Hard's battles and score are in ``arena_hard.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import openai
import pandas as pd

from utils.evals.arena_hard import (
    _SCORE,
    ARENA_HARD_STYLE,
    VERDICTS,
    JudgePrompt,
    unreadable,
    verdict_direction,
)
from utils.evals.runner import ResponseCache, run

_SWAP = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


@dataclass(frozen=True)
class PairJudgement:
    """Two verdicts on one pair and their combined outcome."""

    verdict_ab: str | None  # answer_a shown first
    verdict_ba: str | None  # answer_b shown first, as the judge wrote it (A = answer_b)
    outcome: str | None  # "model_a" | "model_b" | "tie"; None if a verdict was unreadable
    texts: tuple[str | None, str | None]  # the judge's two replies


def judge_messages(
    question: str, answer_a: str, answer_b: str, prompt: JudgePrompt = ARENA_HARD_STYLE
) -> list[dict]:
    """Chat ``messages`` asking the judge to compare ``answer_a`` (shown first) and ``answer_b``."""
    content = prompt.template.format(question=question, answer_a=answer_a, answer_b=answer_b)
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": content}]


def parse_verdict(text: str | None, prompt: JudgePrompt = ARENA_HARD_STYLE) -> str | None:
    """The verdict label in a judge's reply, or ``None`` if there is none or they conflict."""
    if not text:
        return None
    found = {
        prompt.labels[label.replace(" ", "")]
        for label in re.findall(r"\[\[\s*([^\[\]]{1,9}?)\s*\]\]", text)
        if label.replace(" ", "") in prompt.labels
    }
    return found.pop() if len(found) == 1 else None


def swap_verdict(verdict: str) -> str:
    """The same verdict with the roles of A and B exchanged (``A>B`` ↔ ``B>A``)."""
    if verdict not in _SWAP:
        raise ValueError(f"not a verdict: {verdict!r}; expected one of {VERDICTS}")
    return _SWAP[verdict]


def combine_verdicts(verdict_ab: str | None, verdict_ba: str | None) -> str | None:
    """One outcome from both orders: add A's scores (2, 1, 0, -1, -2); None if either is missing."""
    if unreadable(verdict_ab) or unreadable(verdict_ba):
        return None
    if verdict_ab not in _SCORE:
        raise ValueError(f"not a verdict: {verdict_ab!r}; expected one of {VERDICTS}")
    score = _SCORE[verdict_ab] + _SCORE[swap_verdict(verdict_ba)]
    return "model_a" if score > 0 else "model_b" if score < 0 else "tie"


def judge_pair(
    question: str,
    answer_a: str,
    answer_b: str,
    *,
    client: openai.OpenAI,
    model: str,
    prompt: JudgePrompt = ARENA_HARD_STYLE,
    **params,
) -> PairJudgement:
    """Judge one pair in both orders with ``client`` (``params`` go to the API, e.g. max_tokens)."""
    texts = []
    for first, second in ((answer_a, answer_b), (answer_b, answer_a)):
        response = client.chat.completions.create(
            model=model,
            messages=judge_messages(question, first, second, prompt),
            **{"temperature": 0, **params},
        )
        texts.append(response.choices[0].message.content)
    verdict_ab, verdict_ba = (parse_verdict(text, prompt) for text in texts)
    return PairJudgement(
        verdict_ab, verdict_ba, combine_verdicts(verdict_ab, verdict_ba), tuple(texts)
    )


async def judge_pairs(
    pairs: pd.DataFrame,
    *,
    client: openai.AsyncOpenAI,
    model: str,
    prompt: JudgePrompt = ARENA_HARD_STYLE,
    cache: ResponseCache | None = None,
    concurrency: int = 4,
    progress: bool = True,
    **params,
) -> pd.DataFrame:
    """Judge every row (``question``, ``answer_a``, ``answer_b``) in both orders with the runner.

    Returns ``pairs`` with ``verdict_ab``, ``verdict_ba``, ``outcome``, ``error`` and the
    judge's replies ``text_ab`` and ``text_ba`` added. ``progress=False`` hides the runner's
    progress bar.
    """
    missing = {"question", "answer_a", "answer_b"} - set(pairs.columns)
    if missing:
        raise ValueError(f"pairs needs the columns question, answer_a, answer_b; missing {missing}")
    requests = [
        {
            "model": model,
            "messages": judge_messages(row.question, first, second, prompt),
            "temperature": 0,
            **params,
        }  # fmt: skip
        for row in pairs.itertuples()
        for first, second in ((row.answer_a, row.answer_b), (row.answer_b, row.answer_a))
    ]
    outcomes = await run(requests, client, cache=cache, concurrency=concurrency, progress=progress)
    first, second = outcomes[0::2], outcomes[1::2]
    verdicts_ab = [parse_verdict(o.text, prompt) for o in first]
    verdicts_ba = [parse_verdict(o.text, prompt) for o in second]
    judged = pairs.copy()
    judged["verdict_ab"] = pd.Series(verdicts_ab, index=pairs.index, dtype=object)
    judged["verdict_ba"] = pd.Series(verdicts_ba, index=pairs.index, dtype=object)
    combined = list(map(combine_verdicts, verdicts_ab, verdicts_ba))
    judged["outcome"] = pd.Series(combined, index=pairs.index, dtype=object)
    errors = [a.error or b.error for a, b in zip(first, second, strict=True)]
    judged["error"] = pd.Series(errors, index=pairs.index, dtype=object)
    judged["text_ab"] = pd.Series([o.text for o in first], index=pairs.index, dtype=object)
    judged["text_ba"] = pd.Series([o.text for o in second], index=pairs.index, dtype=object)
    return judged


def position_bias(verdicts_ab: Sequence[str | None], verdicts_ba: Sequence[str | None]) -> dict:
    """Shares of readable verdicts for the answer shown first, second, or a tie; and how often
    the two orders agree once the swap is undone (an unbiased judge: 1.0)."""
    if len(verdicts_ab) != len(verdicts_ba):
        raise ValueError("need one verdict per pair in each order")
    verdicts_ab = [None if unreadable(v) else v for v in verdicts_ab]
    verdicts_ba = [None if unreadable(v) else v for v in verdicts_ba]
    raw = [verdict_direction(v) for v in [*verdicts_ab, *verdicts_ba] if v is not None]
    both = [(ab, ba) for ab, ba in zip(verdicts_ab, verdicts_ba, strict=True) if ab and ba]
    agree = [verdict_direction(ab) == verdict_direction(swap_verdict(ba)) for ab, ba in both]
    nan = float("nan")
    return {
        "readable": len(raw),
        "unreadable": len(verdicts_ab) + len(verdicts_ba) - len(raw),
        "first_shown_wins": raw.count(1) / len(raw) if raw else nan,
        "second_shown_wins": raw.count(-1) / len(raw) if raw else nan,
        "tie": raw.count(0) / len(raw) if raw else nan,
        "orders_agree": sum(agree) / len(agree) if agree else nan,
    }

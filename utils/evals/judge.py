"""LLM-as-judge: one model compares two answers, in both orders, Arena-Hard style.

The judge ends its reply with one verdict label: ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``,
``[[B>A]]`` or ``[[B>>A]]``. Judges favour one position, so every pair is judged twice, with
the answers swapped the second time, and the two verdicts are combined into one outcome. A
reply with no readable label (or with conflicting ones) is counted as unparseable, never
guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import openai
import pandas as pd

from utils.datasets import load_mt_bench_judge_prompts
from utils.evals.runner import ResponseCache, run

VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")  # strongest for A ... strongest for B
_SCORE = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}  # from A's point of view
_SWAP = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


@dataclass(frozen=True)
class JudgePrompt:
    """How to ask a judge: a system message, a user template, and how to read its labels."""

    name: str
    system: str
    template: str  # with {question}, {answer_a} and {answer_b}
    labels: dict[str, str] = field(default_factory=lambda: {v: v for v in VERDICTS})
    # ``labels`` maps what the judge writes inside [[...]] to one of VERDICTS


# Written for this course after Arena-Hard's judge prompt (lmarena/arena-hard-auto,
# config/judge_config.yaml), with the same answer markers and verdict labels. The instructions
# come *after* the answers: small models follow the last thing they read far more reliably.
ARENA_HARD_STYLE = JudgePrompt(
    name="arena-hard-style",
    system="You are an impartial judge of AI assistants' answers.",
    template=(
        "<|User Prompt|>\n{question}\n\n"
        "<|The Start of Assistant A's Answer|>\n{answer_a}\n<|The End of Assistant A's Answer|>\n\n"
        "<|The Start of Assistant B's Answer|>\n{answer_b}\n<|The End of Assistant B's Answer|>\n\n"
        "Which assistant's answer to the user prompt is better? Judge correctness first, then "
        "helpfulness, relevance and concision; ignore the order and the length of the answers. "
        "Give your reasons in one or two sentences, then finish with exactly one verdict label:\n"
        "[[A>>B]] assistant A is much better\n"
        "[[A>B]] assistant A is slightly better\n"
        "[[A=B]] a tie\n"
        "[[B>A]] assistant B is slightly better\n"
        "[[B>>A]] assistant B is much better"
    ),
)


def mt_bench_pair_prompt() -> JudgePrompt:
    """MT-Bench's ``pair-v2`` judge prompt as published (verdicts [[A]], [[B]], [[C]] = tie)."""
    prompt = load_mt_bench_judge_prompts()["pair-v2"]
    return JudgePrompt(
        name="mt-bench-pair-v2",
        system=prompt["system_prompt"],
        template=prompt["prompt_template"],
        labels={"A": "A>B", "B": "B>A", "C": "A=B"},
    )


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


def _missing(verdict) -> bool:
    """None, or the NaN pandas puts in a column where a verdict was unreadable."""
    return verdict is None or (isinstance(verdict, float) and math.isnan(verdict))


def combine_verdicts(verdict_ab: str | None, verdict_ba: str | None) -> str | None:
    """One outcome from both orders: add A's scores (2, 1, 0, -1, -2); None if either is missing."""
    if _missing(verdict_ab) or _missing(verdict_ba):
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


def _direction(verdict: str) -> int:
    """+1 if the verdict favours A (the answer shown first), -1 if B, 0 for a tie."""
    return (_SCORE[verdict] > 0) - (_SCORE[verdict] < 0)


def position_bias(verdicts_ab: Sequence[str | None], verdicts_ba: Sequence[str | None]) -> dict:
    """Shares of readable verdicts for the answer shown first, second, or a tie; and how often
    the two orders agree once the swap is undone (an unbiased judge: 1.0)."""
    if len(verdicts_ab) != len(verdicts_ba):
        raise ValueError("need one verdict per pair in each order")
    verdicts_ab = [None if _missing(v) else v for v in verdicts_ab]
    verdicts_ba = [None if _missing(v) else v for v in verdicts_ba]
    raw = [_direction(v) for v in [*verdicts_ab, *verdicts_ba] if v is not None]
    both = [(ab, ba) for ab, ba in zip(verdicts_ab, verdicts_ba, strict=True) if ab and ba]
    agree = [_direction(ab) == _direction(swap_verdict(ba)) for ab, ba in both]
    nan = float("nan")
    return {
        "readable": len(raw),
        "unreadable": len(verdicts_ab) + len(verdicts_ba) - len(raw),
        "first_shown_wins": raw.count(1) / len(raw) if raw else nan,
        "second_shown_wins": raw.count(-1) / len(raw) if raw else nan,
        "tie": raw.count(0) / len(raw) if raw else nan,
        "orders_agree": sum(agree) / len(agree) if agree else nan,
    }


# Arena-Hard's battles (lmarena/arena-hard-auto, show_result.py): the baseline is model_a and
# each order of a pair is its own battle; a strong verdict counts ``multiplier`` times.
STRONG = ("A>>B", "B>>A")


def _game_winner(verdict, first: str, second: str) -> str | None:
    """Who won one game, when ``first`` was shown as A: "model_a", "model_b", "tie" or None."""
    if _missing(verdict):
        return None
    direction = _direction(verdict)  # +1: the answer shown first won
    return "tie" if direction == 0 else first if direction > 0 else second


def battles_from_verdicts(judged: pd.DataFrame, multiplier: int = 3) -> pd.DataFrame:
    """Arena-Hard's battles from pairs judged in both orders (as ``judge_pairs`` returns them).

    Each order is a battle of its own, a strong verdict (``A>>B``/``B>>A``) is repeated
    ``multiplier`` times, and an unreadable verdict gives no battle. ``judged`` needs
    ``model_a``, ``model_b``, ``verdict_ab`` and ``verdict_ba``; ``question_id`` is kept if there.
    """
    missing = {"model_a", "model_b", "verdict_ab", "verdict_ba"} - set(judged.columns)
    if missing:
        raise ValueError(
            f"judged needs model_a, model_b, verdict_ab, verdict_ba; missing {missing}"
        )
    if multiplier < 1:
        raise ValueError(f"multiplier must be at least 1, got {multiplier}")
    keep = [c for c in ("question_id", "model_a", "model_b") if c in judged.columns]
    rows = []
    for row in judged.to_dict("records"):
        games = (
            (row["verdict_ab"], "model_a", "model_b"),
            (row["verdict_ba"], "model_b", "model_a"),
        )
        for verdict, first, second in games:  # game 1: model_a shown first; game 2: model_b
            winner = _game_winner(verdict, first, second)
            if winner is not None:
                battle = {column: row[column] for column in keep} | {"winner": winner}
                rows += [battle] * (multiplier if verdict in STRONG else 1)
    return pd.DataFrame(rows, columns=[*keep, "winner"])


def _verdict(winner: str | None, weight: int, first: str) -> str | None:
    """The label a judge wrote for a game ``winner`` with this ``weight``, ``first`` shown as A."""
    if winner is None:
        return None
    if winner == "tie":
        return "A=B"
    mark = ">>" if weight > 1 else ">"
    return f"A{mark}B" if winner == first else f"B{mark}A"


def _splits(winners: list[str], multiplier: int) -> list[tuple[int, int]]:
    """Ways to cut one pair's rows into game 1 and game 2 (0, 1 or ``multiplier`` rows each)."""
    sizes = sorted({0, 1, multiplier}, reverse=True)  # try a strong first game first
    found = []
    for first in sizes:
        second = len(winners) - first
        if second not in sizes:
            continue
        parts = [winners[:first], winners[first:]]
        uniform = all(len(set(part)) <= 1 for part in parts)
        ties_single = all(len(part) <= 1 for part in parts if part and part[0] == "tie")
        if uniform and ties_single:
            found.append((first, second))
    return found


def verdicts_from_battles(battles: pd.DataFrame, multiplier: int = 3) -> pd.DataFrame:
    """The judge's two verdicts per question and pair, read back from Arena-Hard's battles.

    Needs the rows in the order Arena-Hard writes them (game 1, baseline shown first, then
    game 2), with ``question_id``, ``model_a`` (the baseline), ``model_b`` and ``winner``.
    ``verdict_ab`` is game 1 (model_a shown as A), ``verdict_ba`` game 2 as the judge wrote
    it (model_b shown as A). ``ambiguous`` marks pairs whose rows fit more than one reading
    (e.g. four equal rows: a strong game 1 or a strong game 2); the first reading is kept.
    """
    missing = {"question_id", "model_a", "model_b", "winner"} - set(battles.columns)
    if missing:
        raise ValueError(f"battles needs question_id, model_a, model_b, winner; missing {missing}")
    rows = []
    for (question, model_a, model_b), group in battles.groupby(
        ["question_id", "model_a", "model_b"], sort=False
    ):
        winners = group["winner"].tolist()
        readings = _splits(winners, multiplier)
        if not readings:
            raise ValueError(
                f"question {question!r}, {model_a} vs {model_b}: rows {winners} are not two games "
                f"of 1 or {multiplier} rows each; are they in Arena-Hard's order, and is the "
                "multiplier right?"
            )
        verdicts = {
            (
                _verdict(winners[0] if first else None, first, "model_a"),
                _verdict(winners[first] if second else None, second, "model_b"),
            )
            for first, second in readings
        }
        first, second = readings[0]
        rows.append(
            {
                "question_id": question,
                "model_a": model_a,
                "model_b": model_b,
                "verdict_ab": _verdict(winners[0] if first else None, first, "model_a"),
                "verdict_ba": _verdict(winners[first] if second else None, second, "model_b"),
                "ambiguous": len(verdicts) > 1,
            }
        )
    return pd.DataFrame(rows)

"""Arena-Hard's rules in one place (lmarena/arena-hard-auto, v0.1), as the course uses them.

- The judge's five verdict labels and the course's judge prompt written after Arena-Hard's.
- Battles: the baseline is ``model_a``, each order of a pair is a battle of its own, and a
  strong verdict (``A>>B``/``B>>A``) counts three times; ``verdicts_from_battles`` reads the
  judge's two verdicts back from published battles.
- The score: each model's Bradley–Terry-predicted win rate (%) against the baseline, with a
  bootstrap interval (``ranking.py`` fits Bradley–Terry itself).
- The published data in ``data/arena_hard/``: battles, answers and the leaderboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from utils.datasets import read_jsonl
from utils.evals.ranking import RESAMPLE_PRIOR, bradley_terry, win_probability
from utils.paths import data_dir

VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")  # strongest for A ... strongest for B
_SCORE = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}  # from A's point of view

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


def unreadable(verdict) -> bool:
    """None, or the NaN pandas puts in a column where a verdict was unreadable."""
    return verdict is None or (isinstance(verdict, float) and math.isnan(verdict))


def verdict_direction(verdict: str) -> int:
    """+1 if the verdict favours A (the answer shown first), -1 if B, 0 for a tie."""
    return (_SCORE[verdict] > 0) - (_SCORE[verdict] < 0)


# Arena-Hard's battles (lmarena/arena-hard-auto, show_result.py): the baseline is model_a and
# each order of a pair is its own battle; a strong verdict counts ``multiplier`` times.
STRONG = ("A>>B", "B>>A")


def _game_winner(verdict, first: str, second: str) -> str | None:
    """Who won one game, when ``first`` was shown as A: "model_a", "model_b", "tie" or None."""
    if unreadable(verdict):
        return None
    direction = verdict_direction(verdict)  # +1: the answer shown first won
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


def _win_rates(battles: pd.DataFrame, baseline: str, prior: float) -> pd.Series:
    """Each model's Bradley–Terry-predicted win rate (%) against ``baseline``."""
    try:
        rating = bradley_terry(battles, prior=prior)
    except ValueError:  # an unbeaten or winless model in a resample: count it as the extreme
        rating = bradley_terry(battles, prior=max(prior, RESAMPLE_PRIOR))
    return 100 * rating.map(lambda r: win_probability(r, rating[baseline]))


def arena_hard_scores(
    battles: pd.DataFrame,
    baseline: str,
    rounds: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
    cluster: str | None = None,
    prior: float = 0.0,
) -> pd.DataFrame:
    """Arena-Hard's score: each model's Bradley–Terry-predicted win rate (%) against ``baseline``.

    Returns ``score`` (fit on all battles) with a percentile-bootstrap interval ``low``–``high``
    from ``rounds`` refits, highest first. Arena-Hard resamples single battle rows; pass
    ``cluster="question_id"`` to resample whole questions (both games and every repeated row
    of a question together), which does not treat copies of one verdict as independent.
    """
    models = set(battles.get("model_a", [])) | set(battles.get("model_b", []))
    if baseline not in models:
        raise ValueError(f"the baseline {baseline!r} has no battles; models: {sorted(models)}")
    if cluster is not None and cluster not in battles.columns:
        raise ValueError(f"battles has no column {cluster!r} to resample by")
    score = _win_rates(battles, baseline, prior)
    rng = np.random.default_rng(seed)
    if cluster is None:
        samples = (
            battles.iloc[rng.integers(0, len(battles), size=len(battles))] for _ in range(rounds)
        )
    else:
        groups = [group for _, group in battles.groupby(cluster, sort=False)]
        samples = (
            pd.concat([groups[k] for k in rng.integers(0, len(groups), size=len(groups))])
            for _ in range(rounds)
        )
    draws = pd.DataFrame([_win_rates(sample, baseline, prior) for sample in samples])
    draws = draws.reindex(columns=score.index)  # a resample may miss a model
    tail = (1 - confidence) / 2
    table = pd.DataFrame(
        {"score": score, "low": draws.quantile(tail), "high": draws.quantile(1 - tail)}
    )
    return table.sort_values("score", ascending=False)


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

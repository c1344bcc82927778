"""Test-time compute without a thinking model: draw k answers, then vote or verify.

A model that cannot think can still spend more compute per question: sample ``k`` answers
and combine them. Two ways, each with an exact expectation over every k-subset of the ``n``
answers drawn (no resampling noise, as ``utils.rlhf.expected_best_of_n``):

* **majority vote** (self-consistency): the most common final answer wins; needs no
  verifier, only a way to read the answer. A tie is broken at random, so a tied right
  answer counts its share.
* **best-of-k with a verifier**: keep an answer the checker accepts; right if any of the k
  is right. That is pass@k, ``expected_best_of_n`` of the 0/1 rewards.

Samples come from the local model (whatever backend the lesson uses), ``workers`` at a time:
the server decodes several requests together.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations

from utils.rlhf import served_model


@dataclass(frozen=True)
class Sample:
    """One sampled answer and what it cost."""

    text: str
    completion_tokens: int
    prompt_tokens: int


def _sample(messages: list[dict], max_tokens: int, temperature: float, seed: int) -> Sample:
    body = {
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "seed": seed,
    }
    answer = served_model.request("/v1/chat/completions", body)
    usage = answer.get("usage") or {}
    return Sample(
        answer["choices"][0]["message"]["content"] or "",
        int(usage.get("completion_tokens", 0)),
        int(usage.get("prompt_tokens", 0)),
    )


def draw_all(
    questions: Mapping[Hashable, list[dict]],
    k: int,
    max_tokens: int = 12,
    temperature: float = 0.7,
    seed: int = 0,
    workers: int = 4,
) -> dict[Hashable, list[Sample]]:
    """``k`` answers of the local model to each question's messages, all sent through one pool
    of ``workers``; by question, in seed order.

    Question ``i`` (in the mapping's order) gets seeds ``seed + i·k`` … ``seed + i·k + k − 1``:
    its own seeds, so sample ``j`` of one question is not tied to sample ``j`` of the next.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    jobs = [(key, i * k + offset) for i, key in enumerate(questions) for offset in range(k)]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        drawn = pool.map(
            lambda job: _sample(questions[job[0]], max_tokens, temperature, seed + job[1]), jobs
        )
        answers: dict[Hashable, list[Sample]] = {key: [] for key in questions}
        for (key, _), sample in zip(jobs, drawn, strict=True):
            answers[key].append(sample)
    return answers


def draw(
    messages: list[dict],
    k: int,
    max_tokens: int = 12,
    temperature: float = 0.7,
    seed: int = 0,
    workers: int = 4,
) -> list[Sample]:
    """``k`` answers of the local model to ``messages``, seeds ``seed`` … ``seed + k − 1``."""
    return draw_all({0: messages}, k, max_tokens, temperature, seed, workers)[0]


def majority(answers: Sequence[float | None]) -> list[float]:
    """The most common answers (several if tied); unreadable answers (None) get no vote."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return []
    top = max(votes.values())
    return [answer for answer, count in votes.items() if count == top]


def majority_correct(answers: Sequence[float | None], target: float) -> float:
    """1 if the vote picks ``target``, 0 if not, 1/m if it is one of m tied answers."""
    winners = majority(answers)
    right = [w for w in winners if math.isclose(w, target, rel_tol=0, abs_tol=1e-6)]
    return len(right) / len(winners) if winners else 0.0


def expected_majority(answers: Sequence[float | None], target: float, k: int) -> float:
    """Expected ``majority_correct`` of a random k-subset of ``answers`` (exact, every subset)."""
    if not 1 <= k <= len(answers):
        raise ValueError(f"k must be between 1 and {len(answers)}, got {k}")
    subsets = list(combinations(answers, k))
    return sum(majority_correct(subset, target) for subset in subsets) / len(subsets)

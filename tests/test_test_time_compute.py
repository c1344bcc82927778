"""Test-time compute: majority vote and best-of-k, exact over subsets; samples from the local model."""

import pytest

from utils.rlhf import expected_best_of_n
from utils.test_time_compute import (
    draw,
    draw_all,
    expected_majority,
    majority,
    majority_correct,
)


def test_the_majority_ignores_unreadable_answers_and_keeps_ties():
    assert majority([12.0, 10.0, 12.0, None]) == [12.0]
    assert sorted(majority([12.0, 10.0, None])) == [10.0, 12.0]
    assert majority([None, None]) == []


def test_a_tied_right_answer_counts_its_share():
    assert majority_correct([12.0, 12.0, 10.0], 12) == 1.0
    assert majority_correct([12.0, 10.0], 12) == 0.5
    assert majority_correct([10.0, 11.0, 12.0], 12) == pytest.approx(1 / 3)
    assert majority_correct([None, 10.0], 12) == 0.0 and majority_correct([], 12) == 0.0


def test_expected_majority_at_one_is_the_share_right_and_at_n_the_full_vote():
    answers = [12.0, 10.0, 10.0, 12.0, 12.0, None]
    assert expected_majority(answers, 12, 1) == pytest.approx(3 / 6)
    assert expected_majority(answers, 12, 6) == majority_correct(answers, 12) == 1.0
    # k = 2 by hand: 15 pairs; both 12: 3 pairs → 1; a 12 with a 10 (6) or a None (3): 12 wins
    # or ties. 12+10 ties → 0.5 each; 12+None → 1; others → 0.
    assert expected_majority(answers, 12, 2) == pytest.approx((3 * 1 + 6 * 0.5 + 3 * 1) / 15)
    with pytest.raises(ValueError):
        expected_majority(answers, 12, 7)


def test_voting_can_lose_to_a_single_sample_when_the_model_is_confidently_wrong():
    answers = [10.0, 10.0, 10.0, 12.0]  # a consistent wrong answer beats the rare right one
    assert expected_majority(answers, 12, 3) < expected_majority(answers, 12, 1)
    right = [0.0, 0.0, 0.0, 1.0]
    assert expected_best_of_n(right, 3) > expected_best_of_n(right, 1)  # a verifier finds it


def test_draw_asks_the_local_model_k_times_with_repeatable_seeds(local_settings):
    messages = [{"role": "user", "content": "What is 3 + 4? Answer with the number only."}]
    samples = draw(messages, k=3, max_tokens=6, seed=5)
    assert len(samples) == 3 and all(1 <= s.completion_tokens <= 6 for s in samples)
    assert all(s.prompt_tokens > 0 for s in samples)
    once, twice = (draw(messages, k=1, max_tokens=6, seed=9)[0].text for _ in range(2))
    assert once == twice  # the same seed draws the same answer
    with pytest.raises(ValueError):
        draw(messages, k=0)


def test_draw_all_pools_every_question_and_keeps_each_one_s_samples_apart(local_settings):
    questions = {
        (a, b): [{"role": "user", "content": f"What is {a} + {b}? Answer with the number only."}]
        for a, b in [(2, 2), (5, 3)]
    }
    drawn = draw_all(questions, k=2, max_tokens=6, temperature=0, seed=1)
    assert list(drawn) == list(questions) and all(len(s) == 2 for s in drawn.values())
    alone = draw(questions[(5, 3)], k=2, max_tokens=6, temperature=0, seed=3)
    assert [s.text for s in drawn[(5, 3)]] == [
        s.text for s in alone
    ]  # the second question's seeds are 1 + 1·2 = 3 and 4: the same seeds, the same answers


def test_each_question_gets_its_own_seeds(monkeypatch):
    import utils.test_time_compute as ttc

    seeds = []

    def fake(messages, max_tokens, temperature, seed):
        seeds.append((messages[0]["content"], seed))
        return ttc.Sample(str(seed), 1, 1)

    monkeypatch.setattr(ttc, "_sample", fake)
    drawn = ttc.draw_all({"a": [{"content": "a"}], "b": [{"content": "b"}]}, k=3, seed=10)
    assert sorted(seeds) == [("a", 10), ("a", 11), ("a", 12), ("b", 13), ("b", 14), ("b", 15)]
    assert [s.text for s in drawn["b"]] == ["13", "14", "15"]  # in seed order

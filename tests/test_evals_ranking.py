"""utils.evals.ranking: Bradley–Terry by maximum likelihood, against known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from utils.evals import bootstrap_bradley_terry, bradley_terry, simulate_battles, win_probability
from utils.evals.arena_hard import arena_hard_scores, load_arena_hard_battles

TRUTH = {"alpha": 1200.0, "beta": 1100.0, "gamma": 1000.0, "delta": 900.0, "epsilon": 800.0}


def battles(rows):
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


def test_two_models_match_the_closed_form():
    # 3 wins of 4: p_a / (p_a + p_b) = 3/4, so the gap is 400 * log10(3) = 190.85 points
    ratings = bradley_terry(battles([("a", "b", "model_a")] * 3 + [("b", "a", "model_a")]))
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert ratings.mean() == pytest.approx(1000)


def test_a_tie_counts_as_half_a_win_each():
    # a: 2 wins + 2 ties of 4 = 3 "wins" of 4, the same as above
    rows = [("a", "b", "model_a")] * 2 + [("a", "b", "tie")] * 2
    ratings = bradley_terry(battles(rows))
    assert ratings["a"] - ratings["b"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    level = bradley_terry(battles([("a", "b", "tie")] * 3))
    assert level["a"] == pytest.approx(level["b"])


def test_recovers_a_known_ordering_from_simulated_battles():
    simulated = simulate_battles(TRUTH, n_battles=3000, seed=1)
    ratings = bradley_terry(simulated)
    assert list(ratings.index) == list(TRUTH)  # highest first, the true order
    truth = pd.Series(TRUTH)
    assert (ratings - truth[ratings.index]).abs().max() < 40  # truth's mean is 1000 too


def test_random_ties_shrink_gaps_but_keep_the_order():
    ratings = bradley_terry(simulate_battles(TRUTH, n_battles=3000, tie_rate=0.3, seed=2))
    assert list(ratings.index) == list(TRUTH)
    assert ratings["alpha"] - ratings["epsilon"] < TRUTH["alpha"] - TRUTH["epsilon"]


def test_bootstrap_intervals_contain_the_truth_most_of_the_time():
    truth = {"w": 1150.0, "x": 1050.0, "y": 950.0, "z": 850.0}
    covered = []
    for seed in range(8):
        simulated = simulate_battles(truth, n_battles=300, seed=100 + seed)
        table = bootstrap_bradley_terry(simulated, rounds=60, seed=seed)
        covered += [table.loc[m, "low"] <= truth[m] <= table.loc[m, "high"] for m in truth]
    assert np.mean(covered) >= 0.75  # nominal 95%; 32 small-sample intervals, 60 resamples each
    assert (table["low"] <= table["rating"]).all() and (table["rating"] <= table["high"]).all()


def test_bootstrap_survives_resamples_where_a_model_never_wins():
    lopsided = battles([("a", "b", "model_a")] * 19 + [("a", "b", "model_b")])
    point = bradley_terry(lopsided)  # fits: b won once
    table = bootstrap_bradley_terry(lopsided, rounds=50, seed=0)  # ~1 resample in 3 has b winless
    assert table.loc["b", "rating"] == pytest.approx(point["b"])
    assert table.loc["b", "low"] < point["b"] - 300  # winless resamples stretch the interval
    assert table.loc["a", "high"] > point["a"] + 300


def test_an_unbeaten_model_needs_a_prior():
    rows = [("a", "b", "model_a"), ("a", "c", "model_a"), ("b", "c", "model_a")]
    with pytest.raises(ValueError, match="prior=1.0"):
        bradley_terry(battles(rows))
    ratings = bradley_terry(battles(rows), prior=1.0)
    assert list(ratings.index) == ["a", "b", "c"]
    assert np.isfinite(ratings).all()


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("a", "b", "a")], "winner must be one of"),
        ([("a", "a", "tie")], "cannot battle itself"),
        ([], "at least two models"),
    ],
)
def test_bad_battles_get_a_clear_error(rows, message):
    with pytest.raises(ValueError, match=message):
        bradley_terry(battles(rows))
    with pytest.raises(ValueError, match="winner"):
        bradley_terry(pd.DataFrame({"model_a": ["a"], "model_b": ["b"]}))


def test_win_probability_is_elo():
    assert win_probability(1400, 1000) == pytest.approx(10 / 11)
    assert win_probability(1000, 1000) == 0.5
    assert win_probability(1000, 1100) + win_probability(1100, 1000) == pytest.approx(1)


def test_simulation_is_reproducible_and_well_formed():
    first = simulate_battles(TRUTH, n_battles=50, tie_rate=0.2, seed=7)
    assert first.equals(simulate_battles(TRUTH, n_battles=50, tie_rate=0.2, seed=7))
    assert list(first.columns) == ["model_a", "model_b", "winner"]
    assert (first["model_a"] != first["model_b"]).all()
    assert set(first["winner"]) <= {"model_a", "model_b", "tie"}


def test_arena_hard_score_is_the_win_rate_when_everyone_meets_only_the_baseline():
    # x: 6 wins, 2 ties, 2 losses against base → 7 of 10; y: 1 win, 3 losses → 1 of 4
    rows = (
        [("base", "x", "model_b")] * 6 + [("base", "x", "tie")] * 2 + [("base", "x", "model_a")] * 2
    )
    rows += [("base", "y", "model_b")] + [("base", "y", "model_a")] * 3
    table = arena_hard_scores(battles(rows), "base", rounds=50)
    assert list(table.index) == ["x", "base", "y"]
    assert table.loc["x", "score"] == pytest.approx(70.0, abs=1e-6)
    assert table.loc["y", "score"] == pytest.approx(25.0, abs=1e-6)
    assert table.loc["base", ["score", "low", "high"]].tolist() == [50.0, 50.0, 50.0]
    assert (table["low"] <= table["score"]).all() and (table["score"] <= table["high"]).all()


def test_arena_hard_score_uses_every_battle_not_only_those_with_the_baseline():
    # a beats base 1 of 2; b never meets base but beats a 3 of 4: b's score comes through a
    rows = [("base", "a", "model_b"), ("base", "a", "model_a")]
    rows += [("a", "b", "model_b")] * 3 + [("a", "b", "model_a")]
    score = arena_hard_scores(battles(rows), "base", rounds=0)["score"]
    assert score["a"] == pytest.approx(50.0, abs=1e-6)
    assert score["b"] == pytest.approx(75.0, abs=1e-6)  # 3-to-1 odds over a, who is level


def test_arena_hard_intervals_are_reproducible_and_questions_resample_together():
    rows = []
    for question in range(40):  # each question: the same verdict three times (one strong)
        winner = "model_b" if question % 4 else "model_a"
        rows += [{"question_id": question, "model_a": "base", "model_b": "x", "winner": winner}] * 3
    frame = pd.DataFrame(rows)
    by_row = arena_hard_scores(frame, "base", rounds=200, seed=3)
    assert by_row.equals(arena_hard_scores(frame, "base", rounds=200, seed=3))
    by_question = arena_hard_scores(frame, "base", rounds=200, seed=3, cluster="question_id")
    assert by_row.loc["x", "score"] == by_question.loc["x", "score"] == pytest.approx(75.0)
    width = lambda t: t.loc["x", "high"] - t.loc["x", "low"]  # noqa: E731
    assert width(by_question) > 1.3 * width(by_row)  # copies of one verdict are not 3 verdicts


def test_arena_hard_scores_need_the_baseline_and_the_cluster_column():
    rows = battles([("a", "b", "model_a"), ("a", "b", "model_b")])
    with pytest.raises(ValueError, match="baseline 'c'"):
        arena_hard_scores(rows, "c")
    with pytest.raises(ValueError, match="question_id"):
        arena_hard_scores(rows, "a", cluster="question_id")


def test_the_stored_battles_give_the_published_computation():
    table = arena_hard_scores(load_arena_hard_battles(), "claude-3-haiku-20240307", rounds=20)
    assert table["score"].round(1).to_dict() == {
        "gpt-4o": 91.0,
        "claude-3-5-sonnet-20240620": 90.9,
        "claude-3-opus-20240229": 82.3,
        "claude-3-haiku-20240307": 50.0,
    }

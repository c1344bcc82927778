"""The self-checks of notebooks 05, 07 and 08 accept right answers and explain wrong ones."""

import hashlib
import json
import math
import re

import numpy as np

from utils.evals import cohen_kappa, combine_verdicts, parse_verdict
from utils.evals.judge import battles_from_verdicts, verdicts_from_battles
from utils.evals.ranking import arena_hard_scores
from utils.evals.reported import load_arena_hard_battles
from utils.exercises import nb05, nb07, nb08


def test_option_text_check():
    def right(answer, options):
        named = [
            letter
            for letter, option in zip("ABCDEFGHIJ", options, strict=False)
            if re.search(r"\b" + re.escape(option.lower()) + r"\b", answer.lower())
        ]
        return named[0] if len(named) == 1 else None

    def substring(answer, options):  # finds "2" inside "12"
        named = [
            k for k, o in zip("ABCDEFGHIJ", options, strict=False) if o.lower() in answer.lower()
        ]
        return named[0] if len(named) == 1 else None

    assert nb05.check_option_text_reader(right).solved
    wrong = nb05.check_option_text_reader(substring)
    assert not wrong.solved and "'12'" in wrong.message


def test_bootstrap_check():
    def right(values, resamples=2000, seed=0):
        rng = np.random.default_rng(seed)
        values = np.asarray(values, dtype=float)
        means = [rng.choice(values, size=values.size).mean() for _ in range(resamples)]
        return tuple(float(x) for x in np.percentile(means, [2.5, 97.5]))

    def too_narrow(values, resamples=2000, seed=0):  # a 50% interval
        rng = np.random.default_rng(seed)
        means = [rng.choice(values, size=len(values)).mean() for _ in range(resamples)]
        return tuple(float(x) for x in np.percentile(means, [25, 75]))

    assert nb05.check_bootstrap(right).solved
    assert "percentile bootstrap gives" in nb05.check_bootstrap(too_narrow).message


def test_cache_key_check():
    def right(request, base_url):
        text = json.dumps({"u": base_url, "r": request}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def messages_only(request, base_url):
        return json.dumps(request["messages"])

    assert nb05.check_cache_key(right).solved
    assert "another model" in nb05.check_cache_key(messages_only).message


def test_verdict_and_combine_checks_accept_the_library():
    assert nb07.check_verdict_parser(parse_verdict).solved
    assert nb07.check_combine(combine_verdicts).solved
    first_label = nb07.check_verdict_parser(
        lambda t: (re.findall(r"\[\[(.*?)\]\]", t) or [None])[0]
    )
    assert not first_label.solved
    no_swap = nb07.check_combine(
        lambda ab, ba: None if not (ab and ba) else "model_a" if ab[0] == ba[0] == "A" else "tie"
    )
    assert not no_swap.solved


def test_checks_say_how_many_are_wrong_not_which():
    def first_label(text):  # wrong on the conflicting reply and the spaced label
        return (re.findall(r"\[\[(.*?)\]\]", text) or [None])[0]

    message = nb07.check_verdict_parser(first_label).message
    assert message.startswith("2 of 9 replies read wrong")
    assert "reflection" not in message and "A>B" not in message  # the case stays hidden
    message = nb07.check_combine(lambda ab, ba: "tie").message
    assert message.startswith("6 of 8 pairs") and "A>>B" not in message


def first_game_scores():
    games = verdicts_from_battles(load_arena_hard_battles()).assign(verdict_ba=None)
    table = arena_hard_scores(battles_from_verdicts(games), nb07.BASELINE, rounds=0)
    return table["score"].drop(nb07.BASELINE).to_dict()


def test_first_game_check():
    right = first_game_scores()
    assert nb07.check_first_game_scores(right).solved
    both_games = arena_hard_scores(load_arena_hard_battles(), nb07.BASELINE, rounds=0)["score"]
    wrong = nb07.check_first_game_scores(both_games.drop(nb07.BASELINE).to_dict())
    assert not wrong.solved and wrong.message.startswith("3 of 3 scores")
    assert f"{right['gpt-4o']:.1f}" not in wrong.message  # the answer stays hidden
    assert "one score per contestant" in nb07.check_first_game_scores({"gpt-4o": 92.5}).message


def labelled_pairs_judged(outcome_of):
    """validation_pairs() with verdicts from ``outcome_of(label)`` → (verdict_ab, verdict_ba)."""
    pairs = nb07.validation_pairs()
    verdicts = [outcome_of(label) for label in pairs["label"]]
    judged = pairs.assign(
        verdict_ab=[ab for ab, _ in verdicts], verdict_ba=[ba for _, ba in verdicts]
    )
    judged["outcome"] = [combine_verdicts(ab, ba) for ab, ba in verdicts]
    return judged


def report_for(judged, usable=None, interval=None):
    outcomes = ["unreadable" if o is None else o for o in judged["outcome"]]
    kappa = cohen_kappa(judged["label"], outcomes)
    interval = interval or (kappa - 0.1, min(1.0, kappa + 0.1))
    unreadable = int(judged["outcome"].isna().sum())
    rule = interval[0] >= 0.6 and unreadable <= 0.1 * len(judged)
    return {
        "judged": judged,
        "kappa": kappa,
        "interval": interval,
        "unreadable": unreadable,
        "usable": rule if usable is None else usable,
    }


PERFECT = {"model_a": ("A>>B", "B>>A"), "model_b": ("B>A", "A>B"), "tie": ("A=B", "A=B")}


def test_validation_pairs_have_labels_known_by_construction():
    pairs = nb07.validation_pairs(12)
    assert pairs["label"].value_counts().to_dict() == {"model_a": 4, "model_b": 4, "tie": 4}
    for row in pairs.itertuples():
        if row.label == "tie":
            assert row.answer_a == row.answer_b
        else:  # the wrong side states another final answer than the reference
            right, wrong = (row.answer_a, row.answer_b)[:: 1 if row.label == "model_a" else -1]
            assert right != wrong and right.split("Answer: ")[1] != wrong.split("Answer: ")[1]
    assert pairs.equals(nb07.validation_pairs(12))


def test_mini_project_rubric_accepts_an_honest_report_either_way():
    good = nb07.check_judge_validation(report_for(labelled_pairs_judged(PERFECT.get)))
    assert good.solved and ": usable" in good.message
    silent = labelled_pairs_judged(lambda label: (None, None))  # a judge that never says
    bad = nb07.check_judge_validation(report_for(silent))
    assert (
        bad.solved and "not usable" in bad.message and "12 of 12 outcomes unreadable" in bad.message
    )


def test_mini_project_rubric_names_what_is_missing():
    judged = labelled_pairs_judged(PERFECT.get)
    dropped = report_for(judged)
    dropped["judged"] = judged.iloc[:11]  # not all pairs
    assert "judged the labelled pairs" in nb07.check_judge_validation(dropped).message
    overclaim = report_for(labelled_pairs_judged(lambda label: (None, None)), usable=True)
    message = nb07.check_judge_validation(overclaim).message
    assert message.startswith("5 of 6 rubric points met") and "usable" in message
    one_order = labelled_pairs_judged(PERFECT.get)
    one_order["outcome"] = ["model_a"] * 12  # not what the two verdicts combine to
    assert "both orders" in nb07.check_judge_validation(report_for(one_order)).message
    uncounted = report_for(labelled_pairs_judged(lambda label: (None, "A>B")))
    uncounted["unreadable"] = 0
    assert "counts the outcomes" in nb07.check_judge_validation(uncounted).message
    assert "0 of 6" in nb07.check_judge_validation({}).message


def test_precision_checks():
    assert nb08.check_half_width(lambda p, n: 1.96 * math.sqrt(p * (1 - p) / n)).solved
    wrong = nb08.check_half_width(lambda p, n: math.sqrt(p * (1 - p) / n))
    assert not wrong.solved and wrong.message.startswith("4 of 4") and "0.0" not in wrong.message
    needed = nb08.check_questions_needed(lambda h, p: math.ceil((1.96 / h) ** 2 * p * (1 - p)))
    assert needed.solved
    assert not nb08.check_questions_needed(lambda h, p: (1.96 / h) ** 2 * p * (1 - p)).solved


def test_biggest_gap_check():
    assert nb08.check_biggest_gap(("Qwen2.5-72B (base)", "MBPP", 12.1)).solved
    assert "not the largest" in nb08.check_biggest_gap(("Qwen2.5-72B (base)", "BBH", 6.5)).message
    assert "tuple" in nb08.check_biggest_gap("MBPP").message
    near = nb08.check_biggest_gap(("Qwen2.5-72B (base)", "MBPP", 10.0)).message
    assert "not 10.0" in near and "12.1" not in near

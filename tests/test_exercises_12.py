"""Notebook 12's self-checks accept right answers, explain wrong ones and refuse the obvious cheats."""

import math
from collections import Counter

from utils.evals.paired import sign_test
from utils.exercises import nb12
from utils.test_time_compute import majority_correct


def good_sign_test(better, worse):
    n = better + worse
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2**n)


def one_tailed(better, worse):
    n = better + worse
    return sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2**n if n else 1.0


def test_sign_test_check():
    assert nb12.check_sign_test(good_sign_test).solved
    assert "two-sided" in nb12.check_sign_test(one_tailed).message
    assert not nb12.check_sign_test(lambda better, worse: 0.05)  # a constant
    assert not nb12.check_sign_test(lambda better, worse: 0.0215)  # a value printed in the lesson
    assert "yourself" in nb12.check_sign_test(sign_test).message  # the helper itself
    assert "yourself" in nb12.check_sign_test(lambda b, w: sign_test(b, w)).message  # wrapped
    assert "not started" in nb12.check_sign_test(not_started).message


def not_started(*args):
    raise NotImplementedError


def good_majority(answers, target):
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    winners = [a for a, c in votes.items() if c == top]
    return sum(math.isclose(w, target) for w in winners) / len(winners)


def first_winner_only(answers, target):
    votes = Counter(a for a in answers if a is not None)
    return float(bool(votes) and votes.most_common(1)[0][0] == target)


def test_majority_check():
    assert nb12.check_majority(good_majority).solved
    assert "worth 0.5" in nb12.check_majority(first_winner_only).message  # ties ignored
    assert not nb12.check_majority(lambda answers, target: 1.0)
    assert "yourself" in nb12.check_majority(majority_correct).message
    assert "yourself" in nb12.check_majority(lambda a, t: majority_correct(a, t)).message


def good_difference(thinking, plain):
    with_thinking = thinking.groupby("prompt_id")["total_score"].mean()
    without = plain.groupby("prompt_id")["total_score"].mean()
    return (with_thinking - without).dropna()


def mean_of_samples_unpaired(thinking, plain):
    merged = thinking.merge(plain, on=["prompt_id", "sample"], suffixes=("_t", "_p"))
    return (merged.total_score_t - merged.total_score_p).groupby(merged.prompt_id).mean()


def keeps_every_prompt(thinking, plain):
    with_thinking = thinking.groupby("prompt_id")["total_score"].mean()
    without = plain.groupby("prompt_id")["total_score"].mean()
    return with_thinking.sub(without, fill_value=0)


def test_paired_difference_check():
    assert nb12.check_paired_difference(good_difference).solved
    assert "Average each side" in nb12.check_paired_difference(mean_of_samples_unpaired).message
    assert "both sides have" in nb12.check_paired_difference(keeps_every_prompt).message
    assert "Series" in nb12.check_paired_difference(lambda t, p: 0.1).message
    from utils.evals.paired import paired_differences

    def via_helper(t, p):
        return paired_differences(
            t.groupby("prompt_id")["total_score"].mean(),
            p.groupby("prompt_id")["total_score"].mean(),
        )

    assert "yourself" in nb12.check_paired_difference(via_helper).message


def test_the_last_hint_gives_the_method_not_the_code(capsys):
    for exercise in (1, 2, 3):
        nb12.hint(exercise, 9)  # past the last level: the last one
        last = capsys.readouterr().out
        assert last.startswith(f"Hint 2/2 for exercise {exercise}:")
        assert not any(code in last for code in ("def ", "return ", "lambda", "import "))

"""The self-checks of notebooks 05, 07 and 08 accept right answers and explain wrong ones."""

import hashlib
import json
import math
import re

import numpy as np
import pytest

from utils import livebench
from utils.evals import cohen_kappa, combine_verdicts, parse_verdict
from utils.evals.arena_hard import (
    arena_hard_scores,
    battles_from_verdicts,
    load_arena_hard_battles,
    verdicts_from_battles,
)
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


def test_bootstrap_check_refuses_the_helper_it_compares_with():
    from utils.evals import accuracy_ci, bootstrap_ci
    from utils.evals import stats as course_stats

    def calls_helper(values, resamples=2000, seed=0):  # the obvious cheat
        return bootstrap_ci(values, resamples=resamples, seed=seed)

    def calls_it_by_module(values, resamples=2000, seed=0):
        return course_stats.bootstrap_ci(values, resamples=resamples, seed=seed)

    def calls_accuracy_ci(values, resamples=2000, seed=0):
        interval = accuracy_ci(values, resamples=resamples, seed=seed)
        return interval.low, interval.high

    for cheat in (calls_helper, calls_it_by_module, calls_accuracy_ci, bootstrap_ci):
        check = nb05.check_bootstrap(cheat)
        assert not check.solved and "without" in check.message, cheat


def test_cache_key_check():
    def right(request, base_url):
        text = json.dumps({"u": base_url, "r": request}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def messages_only(request, base_url):
        return json.dumps(request["messages"])

    assert nb05.check_cache_key(right).solved
    assert "another model" in nb05.check_cache_key(messages_only).message


LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
SCORE = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}


def own_parse(reply):
    found = {label.replace(" ", "") for label in re.findall(r"\[\[(.*?)\]\]", reply or "")}
    found &= set(LABELS)
    return found.pop() if len(found) == 1 else None


def own_combine(ab, ba):
    if ab is None or ba is None:
        return None
    total = SCORE[ab] - SCORE[ba]
    return "model_a" if total > 0 else "model_b" if total < 0 else "tie"


def test_verdict_and_combine_checks_accept_own_work():
    assert nb07.check_verdict_parser(own_parse).solved
    assert nb07.check_combine(own_combine).solved
    first_label = nb07.check_verdict_parser(
        lambda t: (re.findall(r"\[\[(.*?)\]\]", t) or [None])[0]
    )
    assert not first_label.solved
    no_swap = nb07.check_combine(
        lambda ab, ba: None if not (ab and ba) else "model_a" if ab[0] == ba[0] == "A" else "tie"
    )
    assert not no_swap.solved


def test_verdict_and_combine_checks_refuse_the_course_helpers():
    for cheat in (parse_verdict, lambda reply: parse_verdict(reply)):
        result = nb07.check_verdict_parser(cheat)
        assert not result.solved and "parse_verdict" in result.message
    for cheat in (combine_verdicts, lambda ab, ba: combine_verdicts(ab, ba)):
        result = nb07.check_combine(cheat)
        assert not result.solved and "combine_verdicts" in result.message


def test_verdict_and_combine_checks_refuse_a_constant():
    assert not nb07.check_verdict_parser(lambda reply: None).solved
    assert not nb07.check_verdict_parser(lambda reply: "A>B").solved
    assert not nb07.check_combine(lambda ab, ba: "model_a").solved


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
    constant = nb07.check_first_game_scores(dict.fromkeys(right, 50.0))  # a constant per contestant
    assert not constant.solved and constant.message.startswith("3 of 3 scores")
    assert not nb07.check_first_game_scores({m: str(v) for m, v in right.items()}).solved


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


COURSE_READING = {  # the solution notebook's verdicts on audit_sample("exercise")
    ("dsv3", "ball_and_bat_modified", 2): [False, False],
    ("qwenmax", "ball_and_bat_modified", 2): [False, False],
    ("dsv3", "feathers_or_steel", 0): [True],
    ("qwenmax", "feathers_or_steel", 2): [True],
    ("dsv3", "riddle_tall_when_young", 2): [False, False],
    ("qwenmax", "riddle_tall_when_young", 1): [False, False],
    ("dsv3", "river_crossing_even_simpler", 1): [True, True],
    ("qwenmax", "river_crossing_even_simpler", 0): [True, False],
}


def audit_interval(ours, theirs, seed):
    """A 95% bootstrap interval for kappa over whole answers, written as a learner would."""
    rng, kappas = np.random.default_rng(seed), []
    for _ in range(2000):
        picked = rng.integers(0, len(ours), size=len(ours))
        kappas.append(cohen_kappa(sum((ours[i] for i in picked), []), sum((theirs[i] for i in picked), [])))
    low, high = np.nanpercentile(kappas, [2.5, 97.5])
    return float(low), float(high)


def audit_report(verdicts, seed=1):
    sample = nb07.audit_sample("exercise")
    ours = [verdicts[key] for key in nb07.audit_keys(sample)]
    theirs = list(sample["judge"])
    kappa = cohen_kappa(sum(ours, []), sum(theirs, []))
    return {"verdicts": verdicts, "kappa": kappa, "interval": audit_interval(ours, theirs, seed)}


def test_audit_samples_are_disjoint_and_pair_the_two_judged_models():
    lesson, exercise = nb07.audit_sample("lesson"), nb07.audit_sample("exercise")
    assert lesson.equals(nb07.audit_sample("lesson"))  # the same draw every time
    assert not set(lesson["prompt_id"]) & set(exercise["prompt_id"])
    for sample in (lesson, exercise):
        assert len(sample) == 8 and sample["prompt_id"].nunique() == 4
        assert (
            sample.groupby("prompt_id")["file"].apply(sorted) == [["dsv3", "qwenmax"]] * 4
        ).all()
        assert sample["output"].str.len().max() <= nb07.AUDIT_MAX_CHARS
    assert set(nb07.audit_keys(exercise)) == set(COURSE_READING)
    assert all(v == [None] * len(v) for v in nb07.audit_template(exercise).values())


def test_audit_check_accepts_a_reading_with_its_own_bootstrap():
    result = nb07.check_audit(audit_report(COURSE_READING))
    assert result.solved and "14 verdicts" in result.message


def test_audit_check_refuses_the_obvious_cheats():
    sample = nb07.audit_sample("exercise")
    judge = dict(zip(nb07.audit_keys(sample), sample["judge"], strict=True))
    copied = nb07.check_audit(audit_report(judge))
    assert not copied.solved and "the judge's, verdict for verdict" in copied.message
    constant = {key: [False] * len(v) for key, v in judge.items()}
    result = nb07.check_audit(audit_report(constant))
    assert not result.solved and "not all the same" in result.message
    template = nb07.check_audit({"verdicts": nb07.audit_template(sample), "kappa": None})
    assert template.message.startswith("0 of 5")
    printed = audit_report(COURSE_READING) | {"kappa": 0.85}  # the lesson's printed kappa
    assert "Cohen's kappa between" in nb07.check_audit(printed).message
    for interval in ((-1.0, 1.0), (0.0, 0.0)):
        wide = audit_report(COURSE_READING) | {"interval": interval}
        assert "bootstrap interval" in nb07.check_audit(wide).message
    missing = dict(list(COURSE_READING.items())[:-1])
    assert (
        "every criterion"
        in nb07.check_audit(audit_report(COURSE_READING) | {"verdicts": missing}).message
    )
    assert not nb07.check_audit("my verdicts").solved


def test_precision_checks():
    assert nb08.check_half_width(lambda p, n: 1.96 * math.sqrt(p * (1 - p) / n)).solved
    wrong = nb08.check_half_width(lambda p, n: math.sqrt(p * (1 - p) / n))
    assert not wrong.solved and wrong.message.startswith("4 of 4") and "0.0" not in wrong.message
    needed = nb08.check_questions_needed(lambda h, p: math.ceil((1.96 / h) ** 2 * p * (1 - p)))
    assert needed.solved
    assert not nb08.check_questions_needed(lambda h, p: (1.96 / h) ** 2 * p * (1 - p)).solved


def test_precision_checks_refuse_the_obvious_cheats():
    from utils.evals import wilson_ci

    assert not nb08.check_half_width(lambda p, n: 0.07).solved  # a printed half-width
    wilson = nb08.check_half_width(
        lambda p, n: (lambda lo, hi: (hi - lo) / 2)(*wilson_ci(round(p * n), n))
    )
    assert not wilson.solved  # the Wilson helper is not the normal approximation
    assert not nb08.check_questions_needed(lambda h, p: 7_000).solved


def livebench_answer(pair=("qwen2.5-max", "deepseek-v3-0324"), seed=3, draws=2000):
    table = livebench.load_table("2025_04_25")
    categories = livebench.load_categories("2025_04_25")
    by_task = table.loc[pair[0]] - table.loc[pair[1]]
    groups = [by_task[tasks].to_numpy() for tasks in categories.values()]
    gap = float(np.mean([g.mean() for g in groups]))
    rng = np.random.default_rng(seed)
    boots = [np.mean([rng.choice(g, len(g)).mean() for g in groups]) for _ in range(draws)]
    low, high = np.percentile(boots, [2.5, 97.5])
    return gap, float(low), float(high)


def test_livebench_interval_check_accepts_any_seed():
    for seed in (0, 3, 11):
        result = nb08.check_livebench_interval(livebench_answer(seed=seed))
        assert result.solved and "includes zero" in result.message


def test_livebench_interval_check_refuses_the_obvious_cheats():
    gap, low, high = livebench_answer()
    assert "tuple of three" in nb08.check_livebench_interval((0.0, 0.0)).message
    assert not nb08.check_livebench_interval((0.0, 0.0, 0.0)).solved  # the template
    # the lesson's printed pair (qwen2.5-max vs deepseek-v3 on 2024-11-25) is another gap
    lesson = livebench.global_average(
        livebench.category_averages(
            livebench.load_table("2024_11_25"), livebench.load_categories("2024_11_25")
        )
    )
    copied = lesson["qwen2.5-max"] - lesson["deepseek-v3"]
    assert "not the difference" in nb08.check_livebench_interval((copied, -1.3, 5.1)).message
    # the helper's global averages give the gap but no interval
    assert "interval" in nb08.check_livebench_interval((gap, gap, gap)).message
    assert "interval" in nb08.check_livebench_interval((gap, -50.0, 50.0)).message
    by_task_mean = float(
        (livebench.load_table("2025_04_25").loc["qwen2.5-max"]
         - livebench.load_table("2025_04_25").loc["deepseek-v3-0324"]).mean()
    )  # fmt: skip
    assert "not the difference" in nb08.check_livebench_interval((by_task_mean, low, high)).message


def own_row(**changes):
    table = livebench.load_table("2025_04_25")
    categories = livebench.load_categories("2025_04_25")
    means = [table.loc["qwen2.5-max", tasks].mean() for tasks in categories.values()]
    row = {
        "model": "Qwen2.5-Max",
        "benchmark": "LiveBench (release 2025-04-25)",
        "score": round(float(np.mean(means)), 2),
        "source": f"github:{livebench.UPSTREAM}@{livebench.UPSTREAM_COMMIT[:7]} "
        "public/table_2025_04_25.csv: mean of the six category means, computed here",
    }
    return row | changes


def test_new_row_check_accepts_a_traceable_row():
    result = nb08.check_new_row(own_row())
    assert result.solved and "third party's own run (LiveBench)" in result.message
    full_commit = own_row(source=own_row()["source"].replace("4bf96c8", livebench.UPSTREAM_COMMIT))
    assert nb08.check_new_row(full_commit).solved


def test_new_row_check_refuses_the_obvious_cheats():
    template = {
        "model": "Qwen2.5-Max",
        "benchmark": "LiveBench",
        "score": None,
        "source": "NOT FOUND",
    }
    assert nb08.check_new_row(template).message.startswith("1 of 5")
    older = livebench.global_average(
        livebench.category_averages(
            livebench.load_table("2024_11_25"), livebench.load_categories("2024_11_25")
        )
    )["qwen2.5-max"]  # printed in the lesson: the other release's number
    assert "global average" in nb08.check_new_row(own_row(score=round(older, 2))).message
    assert "not plain" in nb08.check_new_row(own_row(benchmark="LiveBench")).message
    no_commit = own_row(source="LiveBench's leaderboard, table_2025_04_25.csv, mean of means")
    assert "at its commit" in nb08.check_new_row(no_commit).message
    wrong_commit = own_row(source=own_row()["source"].replace("4bf96c8", "1234567"))
    assert not nb08.check_new_row(wrong_commit).solved
    copied = own_row(source="github:x/y LLM_BENCHMARKS.md; " + own_row()["source"])
    result = nb08.check_new_row(copied)  # a compilation first, LiveBench only as a cross-check
    assert not result.solved and "third party's own run" in result.message
    assert not nb08.check_new_row(own_row(model="qwen2.5-max")).solved
    assert not nb08.check_new_row("LiveBench 60.03").solved


def _answers_in(module):
    """Every function or value of a checks module that is not a check, hint or rubric text."""
    import inspect

    skip = {"hint", "Check", "solved", "not_yet", "guarded", "check_cases", "close_to"}
    for name, value in vars(module).items():
        if name.startswith("__") or name in skip or name.startswith("check_"):
            continue
        if inspect.ismodule(value) or inspect.isclass(value):
            continue
        yield name, value


@pytest.mark.parametrize("module", [nb07, nb08])
def test_no_function_of_the_checks_hands_out_a_value_answer(module):
    """Review (07/08): a private truth function (nb07._first_game_scores, nb08._livebench_gap,
    nb08._release_average) could be imported and handed to its own check. The truth is now
    computed inside each check; no other function of the module returns it."""
    for name in ("_first_game_scores", "_livebench_gap", "_release_average", "audit_kappa_interval"):
        assert not hasattr(module, name)
    gap_answer, first_game = livebench_answer(), first_game_scores()
    for name, value in _answers_in(module):
        if not callable(value):
            continue
        try:
            got = value()
        except Exception:  # needs arguments the answer could not supply
            continue
        for answer in (got, getattr(got, "to_dict", lambda: None)()):
            assert not nb08.check_livebench_interval(answer).solved, name
            assert not nb07.check_first_game_scores(answer).solved, name
    assert nb08.check_livebench_interval(gap_answer).solved  # the checks still work
    assert nb07.check_first_game_scores(first_game).solved


def test_value_checks_refuse_the_answers_once_kept_in_the_module():
    """What the removed truth functions returned is still Solved when computed by hand, and
    the modules keep nothing (a cache, a stored table) after a check has run."""
    before = {m.__name__: set(vars(m)) for m in (nb07, nb08)}
    nb08.check_livebench_interval(livebench_answer())
    nb07.check_first_game_scores(first_game_scores())
    nb08.check_new_row(own_row())
    nb07.check_audit(audit_report(COURSE_READING))
    for m in (nb07, nb08):
        assert set(vars(m)) == before[m.__name__]

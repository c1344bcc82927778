"""The self-checks of notebooks 05, 07 and 08 accept right answers and explain wrong ones."""

import hashlib
import json
import math
import re

import numpy as np

from utils.evals import combine_verdicts, parse_verdict
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


def test_elo_gap_check():
    assert nb07.check_elo_gap(lambda w: 400 * math.log10(w / (1 - w))).solved
    assert not nb07.check_elo_gap(lambda w: 400 * math.log(w / (1 - w))).solved  # natural log


def test_precision_checks():
    assert nb08.check_half_width(lambda p, n: 1.96 * math.sqrt(p * (1 - p) / n)).solved
    assert not nb08.check_half_width(lambda p, n: math.sqrt(p * (1 - p) / n)).solved
    needed = nb08.check_questions_needed(lambda h, p: math.ceil((1.96 / h) ** 2 * p * (1 - p)))
    assert needed.solved
    assert not nb08.check_questions_needed(lambda h, p: (1.96 / h) ** 2 * p * (1 - p)).solved


def test_biggest_gap_check():
    assert nb08.check_biggest_gap(("Qwen2.5-72B (base)", "MBPP", 12.1)).solved
    assert "not the largest" in nb08.check_biggest_gap(("Qwen2.5-72B (base)", "BBH", 6.5)).message
    assert "tuple" in nb08.check_biggest_gap("MBPP").message

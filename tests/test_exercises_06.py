"""The self-checks of notebook 06 accept right answers and explain wrong ones."""

import itertools
import math

from utils.exercises import nb06


def test_pass_at_k_check():
    assert nb06.check_pass_at_k(lambda n, c, k: 1 - math.comb(n - c, k) / math.comb(n, k)).solved
    naive = nb06.check_pass_at_k(lambda n, c, k: 1 - (1 - c / n) ** k)
    assert not naive.solved and "n=5, c=1, k=2" in naive.message

    def unfinished(n, c, k):
        raise NotImplementedError

    assert "not started" in nb06.check_pass_at_k(unfinished).message


RIGHT = {"A": "passed", "B": "failed", "C": "error", "D": "timeout", "E": "failed"}


def test_predictions_check_runs_the_programs():
    nb06._TRIED.clear()
    right = dict(RIGHT)
    assert nb06.check_predictions(right).solved
    wrong = nb06.check_predictions({**right, "B": "passed"})
    assert not wrong.solved and "1 of your 5" in wrong.message
    two = nb06.check_predictions({**right, "C": "failed", "D": "error"})
    assert not two.solved and "2 of your 5" in two.message
    for message in (wrong.message, two.message):  # says how many, never which (issue 15)
        assert not any(f"'{letter}'" in message or f" {letter}" in message for letter in "ABCDE")
    assert "missing" in nb06.check_predictions({"A": "passed"}).message
    assert "missing" in nb06.check_predictions(dict.fromkeys(right)).message  # the blank start
    assert "statuses are" in nb06.check_predictions({**right, "A": "ok"}).message


def test_brute_force_gets_not_yet_even_when_it_reaches_the_right_set(monkeypatch):
    nb06._TRIED.clear()
    monkeypatch.setattr(nb06, "run_code", lambda program, timeout: _fake_result(program))
    statuses = ("passed", "failed", "timeout", "error")
    verdicts = {}  # the cheat: try every combination until one is solved
    for combination in itertools.product(statuses, repeat=len(RIGHT)):
        guess = dict(zip(sorted(RIGHT), combination, strict=True))
        verdicts[combination] = nb06.check_predictions(guess)
        if verdicts[combination].solved:
            break
    assert not any(v.solved for v in verdicts.values())
    reached = verdicts[tuple(RIGHT[k] for k in sorted(RIGHT))]
    assert "search, not a reading" in reached.message
    nb06._TRIED.clear()
    assert nb06.check_predictions(RIGHT).solved  # a fresh kernel that reasons it out is graded


def _fake_result(program):
    """The real verdicts without running the sandbox: this test is about the grading."""
    letter = next(k for k, p in nb06.PROGRAMS.items() if p == program)
    return type("Result", (), {"status": RIGHT[letter]})()


def test_completion_check_uses_the_sandbox():
    assert nb06.check_completion("    return sorted(set(l))\n").solved
    unsorted = nb06.check_completion("    return list(set(l))[::-1]\n")
    assert not unsorted.solved and "failed" in unsorted.message
    assert "function body" in nb06.check_completion("").message
    assert not nb06.check_completion("    import os\n    os._exit(0)\n").solved


def test_hints_exist_for_every_exercise(capsys):
    for exercise in (1, 2, 3):
        nb06.hint(exercise, 2)
    printed = capsys.readouterr().out
    assert printed.count("Hint 2/2") == 3

"""Self-checks and hints for notebook 06 (code execution and pass@k)."""

from __future__ import annotations

from collections.abc import Callable

from utils.datasets import load_humaneval
from utils.evals import check_solution, pass_at_k, run_code
from utils.exercises import Check, check_cases, close_to, guarded, hint_printer, not_yet, solved

# Exercise 2: five short programs; the learner predicts each one's status.
PROGRAMS = {
    "A": "print(sum(range(10)))",
    "B": "assert sorted([3, 1, 2]) == [1, 2, 3]\nimport sys\nsys.exit(0)\nassert False",
    "C": "import json\njson.loads('{')",
    "D": "x = 0\nwhile x >= 0:\n    x += 1",
    "E": "assert len('abc') == 4, 'length'",
}
TIMEOUT = 1.0  # seconds, for the programs of exercise 2
MAX_TRIES = 3  # distinct prediction sets graded per kernel: a reading exercise, not a search
_TRIED: set[tuple[str, ...]] = set()  # the distinct prediction sets this kernel has submitted
EXERCISE_3_TASK = "HumanEval/34"  # unique(l): sorted unique elements

hint = hint_printer(
    {
        1: [
            "pass@k = 1 - (ways to pick k samples that all fail) / (ways to pick any k samples).",
            "math.comb(n - c, k) counts the all-failing picks; math.comb(n, k) counts all picks. "
            "math.comb returns 0 when n - c < k, which is exactly right.",
        ],
        2: [
            "'passed' needs the program to reach its last line and exit with 0; an AssertionError "
            "is 'failed'; any other exception is 'error'; running past the time limit is 'timeout'.",
            "For each program, find the first line that stops it and name the kind of stop: an "
            "assert, another exception (look the call up in the Python docs: what does it raise "
            "on bad input?), an exit before the last line, or the clock. For a loop, follow its "
            "variable by hand and ask whether the condition can ever turn false for Python's "
            "integers.",
        ],
        3: [
            "The completion is what comes after the prompt: the function's body, indented by 4 spaces.",
            "A set removes duplicates; sorted() turns it back into a sorted list.",
        ],
    }
)


@guarded
def check_pass_at_k(my_pass_at_k: Callable[[int, int, int], float]) -> Check:
    """Exercise 1: ``my_pass_at_k(n, c, k)`` agrees with the unbiased estimator everywhere."""
    cases = [(5, 1, 1), (5, 1, 2), (5, 2, 2), (10, 0, 3), (10, 8, 3), (20, 3, 10), (200, 7, 100)]
    return check_cases(
        my_pass_at_k,
        [(case, pass_at_k(*case)) for case in cases],
        f"your estimator matches on all {len(cases)} cases, including n - c < k.",
        same=close_to(abs_tol=1e-9),
        describe=lambda args: "n={}, c={}, k={}".format(*args),
    )


@guarded
def check_predictions(predictions: dict[str, str]) -> Check:
    """Exercise 2: ``predictions`` maps each program letter to the status you expect.

    It says how many are wrong, never which, and grades at most ``MAX_TRIES`` different sets
    per kernel: trying combinations until one passes (at most 15 runs with that feedback) gets
    "Not yet", however it ends."""
    missing = sorted(k for k in PROGRAMS if (predictions or {}).get(k) is None)
    if missing:
        return not_yet(f"predict every program; missing {missing}.")
    unknown = {
        k: v for k, v in predictions.items() if v not in ("passed", "failed", "timeout", "error")
    }
    if unknown:
        return not_yet(f"statuses are 'passed', 'failed', 'timeout' or 'error', not {unknown}.")
    attempt = tuple(predictions[letter] for letter in sorted(PROGRAMS))
    _TRIED.add(attempt)
    if len(_TRIED) > MAX_TRIES:
        return not_yet(
            f"{len(_TRIED)} different sets of predictions tried in this kernel; past {MAX_TRIES} "
            "this is a search, not a reading. Take each program in turn, write down why it "
            "ends the way you think, and check that reasoning with run_code on it alone "
            "(restart the kernel to be graded again)."
        )
    actual = {letter: run_code(program, timeout=TIMEOUT) for letter, program in PROGRAMS.items()}
    wrong = sum(predictions[letter] != actual[letter].status for letter in PROGRAMS)
    if wrong:  # how many, not which: naming them would let trial and error solve it
        verb = "is" if wrong == 1 else "are"
        return not_yet(
            f"{wrong} of your {len(PROGRAMS)} predictions {verb} wrong: read the programs "
            "again, or try hint(2)."
        )
    return solved(
        "you can read the sandbox's verdicts: "
        + ", ".join(f"{letter}={result.status}" for letter, result in actual.items())
    )


@guarded
def check_completion(completion: str) -> Check:
    """Exercise 3: a completion that makes ``unique`` (HumanEval/34) pass its tests."""
    if not isinstance(completion, str) or not completion.strip():
        return not_yet("write the function body as a string, e.g. '    return ...\\n'.")
    problem = next(p for p in load_humaneval() if p["task_id"] == EXERCISE_3_TASK)
    result = check_solution(problem, completion)
    if not result.passed:
        return not_yet(f"the sandbox says {result.status}: {result.reason}")
    return solved("HumanEval/34 passes in the sandbox.")

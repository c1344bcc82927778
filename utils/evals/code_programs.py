"""The programs code benchmarks run, and grading a HumanEval completion in the sandbox.

HumanEval runs prompt + completion + its ``test`` + ``check(entry_point)``. ``code_answers.py``
turns a chat answer into the completion; the sandbox (``sandbox.py``) runs the program.
"""

from __future__ import annotations

from utils.evals.sandbox import RunResult, run_code


def humaneval_program(problem: dict, completion: str) -> str:
    """The program HumanEval runs: prompt + completion, the tests, then ``check(entry_point)``."""
    missing = [key for key in ("prompt", "test", "entry_point") if key not in problem]
    if missing:
        raise KeyError(
            f"a HumanEval-style problem needs 'prompt', 'test', 'entry_point'; missing {missing}"
        )
    return (
        f"{problem['prompt']}{completion}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    )


def check_solution(problem: dict, completion: str, timeout: float = 10.0) -> RunResult:
    """Run a HumanEval-style problem's tests on ``completion``; passed only if check() finished."""
    return run_code(humaneval_program(problem, completion), timeout=timeout)

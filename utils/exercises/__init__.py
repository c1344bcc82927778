"""Self-checks and hints for the exercises; one module per notebook (``nb01`` for 01, ...).

A check never raises on a wrong answer: it returns a ``Check`` that says "Solved" or
"Not yet" with the reason, so a notebook with unfinished exercises still runs top to bottom.
Hints are here; answers are not (they live in ``notebooks/solutions/``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """The verdict of a self-check."""

    solved: bool
    message: str

    def __repr__(self) -> str:
        return f"✅ Solved: {self.message}" if self.solved else f"❌ Not yet: {self.message}"

    def __bool__(self) -> bool:
        return self.solved


def solved(message: str = "well done.") -> Check:
    return Check(True, message)


def not_yet(reason: str) -> Check:
    return Check(False, reason)


def check_cases(
    function: Callable,
    cases: Iterable[tuple[tuple, Any]],
    solved_message: str,
    *,
    same: Callable[[Any, Any], bool] = operator.eq,
    what: str = "cases",
    reveal: bool = True,
    describe: Callable[[tuple], str] | None = None,
) -> Check:
    """Call ``function(*args)`` for each ``(args, expected)``; Solved if every result is ``same``.

    ``reveal=True`` names the first case that differs (for a parser, the case is the
    feedback); ``reveal=False`` says only how many differ, where naming them would let trial
    and error solve the exercise. ``describe(args)`` words a case (default: its repr).
    """
    cases = list(cases)
    wrong = 0
    for args, expected in cases:
        got = function(*args)
        if same(got, expected):
            continue
        if reveal:
            shown = describe(args) if describe else ", ".join(map(repr, args))
            return not_yet(f"for {shown} you returned {got!r}, expected {expected!r}.")
        wrong += 1
    if wrong:
        return not_yet(f"{wrong} of {len(cases)} {what} wrong; test your function on your own cases.")
    return solved(solved_message)


def unmet_points(
    met: dict[str, bool], rubric: dict[str, str], points: str = "points"
) -> Check | None:
    """Not yet, naming each point of ``rubric`` that ``met`` marks False; None when all are met."""
    if all(met.values()):
        return None
    missing = "; ".join(rubric[point] for point, ok in met.items() if not ok)
    return not_yet(f"{sum(met.values())} of {len(met)} {points} met. Still to do: {missing}.")


def close_to(rel_tol: float = 0.0, abs_tol: float = 0.0) -> Callable[[Any, float], bool]:
    """A ``same`` for ``check_cases``: a number within the tolerances of the expected one."""
    import math

    def same(got: Any, expected: float) -> bool:
        is_number = isinstance(got, int | float) and not isinstance(got, bool)
        return is_number and math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)

    return same


def hint_printer(hints: dict[int, list[str]]) -> Callable[[int, int], None]:
    """Make ``hint(exercise, level=1)`` for one notebook's ``hints``; each level says more."""

    def hint(exercise: int, level: int = 1) -> None:
        levels = hints.get(exercise)
        if not levels:
            print(f"There is no exercise {exercise} here; exercises: {sorted(hints)}")
            return
        level = max(1, min(level, len(levels)))
        more = f" (more: hint({exercise}, {level + 1}))" if level < len(levels) else ""
        print(f"Hint {level}/{len(levels)} for exercise {exercise}: {levels[level - 1]}{more}")

    return hint


def guarded(check: Callable[..., Check]) -> Callable[..., Check]:
    """Wrap a check so an exception in the learner's code becomes "Not yet", not a traceback."""

    def run(*args, **kwargs) -> Check:
        try:
            return check(*args, **kwargs)
        except NotImplementedError:
            return not_yet("not started yet: replace the `raise NotImplementedError` line.")
        except Exception as error:  # the learner's code failed; say how
            return not_yet(f"your code raised {type(error).__name__}: {error}")

    run.__doc__ = check.__doc__
    run.__name__ = check.__name__
    return run


def helpers_used(function: Callable, helpers: Iterable[Callable]) -> list[str]:
    """The names of ``helpers`` that ``function``'s own code refers to, however it imported them.

    A check whose answer the course already has as a helper refuses a call to it: comparing a
    helper with itself checks nothing. Looks at every global, attribute and closure name in the
    function's code (and in functions defined inside it) and at what each name refers to, so
    ``moe.top_k_gates``, ``from utils.moe import top_k_gates as tk`` and ``tk`` all count.
    """
    import contextlib
    import types

    helpers = list(helpers)
    names = {h.__name__ for h in helpers}
    used: set[str] = set()
    if any(function is h for h in helpers):  # the helper itself, passed in as the answer
        return [function.__name__]
    code = getattr(function, "__code__", None)
    if code is None:
        return []
    scope = getattr(function, "__globals__", {})
    closure = {}
    for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=True):
        with contextlib.suppress(ValueError):  # a cell not filled yet
            closure[name] = cell.cell_contents
    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        for name in (*current.co_names, *current.co_freevars):
            target = closure.get(name, scope.get(name))
            if name in names or any(target is h for h in helpers):
                used.add(name)
    return sorted(used)

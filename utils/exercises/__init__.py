"""Self-checks and hints for the exercises; one module per notebook (``nb01`` for 01, ...).

A check never raises on a wrong answer: it returns a ``Check`` that says "Solved" or
"Not yet" with the reason, so a notebook with unfinished exercises still runs top to bottom.
Hints are here; answers are not (they live in ``notebooks/solutions/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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

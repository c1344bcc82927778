"""Grade what an answer says about a model's size by its numbers, not its words.

A keyword check passes an answer that uses the right words in a wrong sentence ("a mixture
of multiple models ... combines CNNs and RNNs"). A number is right or wrong, so the grader
reads only numbers with a unit it can check — ``671B``, ``37 billion``, ``8 experts``,
``61 layers``, ``5.5%``, and bare parameter counts ("the number of parameters is 1000") —
and compares each with a known fact:

1. find the claims (:func:`find_claims`): a number, its unit, the words around it;
2. decide which fact a claim is about: the fact whose cue word ("total", "per token",
   "shared", ...) is nearest to the number in its own stretch of text; with no cue word, any
   fact of the same unit may match;
3. pass only if every claim is right and every required fact was stated (:func:`grade`).
   A number in a unit no fact covers cannot be verified, so it counts against the answer;
   an answer with no checkable number does not pass.

Numbers written as words ("eight experts"), numbers that are part of a name ("A2.7B",
"Qwen2-57B"), prices ("$5.6M") and GPU hours ("2.664M GPU hours") are not claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SCALE = {"m": 1e-3, "million": 1e-3, "b": 1.0, "bn": 1.0, "billion": 1.0}
_SCALE |= {"t": 1e3, "trillion": 1e3}
_NUMBER = r"(?<![\w.\-$])(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"  # not inside a name or a price
_SCALED = _NUMBER + r"\s*(?P<w>million|billion|trillion|bn|[mbt])\b"  # "37B", "37 billion"
_TOKENS = r"\s*(?:training\s+)?tokens"  # "14.8T tokens" is data, not parameters
_NOT_SIZE = r"\s*(?:\w+\s+)?(?:GPU|hours)"  # "2.664M GPU hours", "2.8M H800 GPU hours"
_PARAMS = r"(?P<w>parameters|params)\b"
_NO_UNIT = r"(?!\d|\.\d|\s*(?:million|billion|trillion|bn|[mbt]\b|%|percent\b|(?:[a-z-]+\s+)?(?:experts?|layers?|tokens?|heads?)\b))"
_COUNT_BEFORE = _NUMBER + r"\s+(?:(?!million|billion|trillion|bn)[a-z-]+\s+)?" + _PARAMS
_COUNT_AFTER = rf"\b{_PARAMS}(?:\s+[a-z-]+){{0,5}}?(?:\s+(?:is|are|was|of|at)\s+|\s*[=:]\s*){_NUMBER}{_NO_UNIT}"
_X_OF_Y = r"\s+(?:out\s+)?of\s+(?:the\s+|its\s+)?\d+\s+(?:[a-z-]+\s+)?(?P<w>experts?)\b"
# (pattern, unit): group "n" is the number, group "w" the word that scales it (million, ...)
# or names it. A bare count of parameters is read as it stands and turned into billions.
_PATTERNS = [
    (_SCALED + f"(?!{_TOKENS}|{_NOT_SIZE})", "B"),  # "671B", "37 billion"
    (_SCALED + f"(?={_TOKENS})", "B tokens"),  # "14.8T tokens"
    (_COUNT_BEFORE, "B"),  # "671,000,000,000 parameters"
    (_COUNT_AFTER, "B"),  # "the number of parameters is 1000"
    (_NUMBER + r"\s*(?P<w>%|percent\b)", "%"),  # "5.5%"
    (_NUMBER + r"\s+(?:[a-z-]+\s+)?(?P<w>layers?)\b", "layers"),  # "61 transformer layers"
    (_NUMBER + r"\s+(?:[a-z-]+\s+){0,2}(?P<w>experts?)\b", "experts"),  # "256 routed experts"
    (_NUMBER + _X_OF_Y, "experts"),  # the 8 in "8 of its 256 experts"
    (r"\btop[- ]?(?:k\s*=\s*)?(?P<n>\d+)(?P<w>)", "experts"),  # "top-8"
]


@dataclass(frozen=True)
class Fact:
    """A checkable quantity: its unit, the range accepted as right, the words that name it."""

    name: str
    unit: str  # "B" (parameters, in billions), "B tokens", "%", "layers" or "experts"
    low: float
    high: float
    cues: tuple[str, ...] = ()  # word starts near a number that say it means this fact
    required: bool = True  # must be stated (correctly) for the answer to pass

    def accepts(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self, value: float | None = None) -> str:
        """The accepted range, or ``value``, with the unit where it helps: "637–705 B", "5.5%"."""
        suffix = {"B": " B", "B tokens": " B", "%": "%"}.get(self.unit, "")
        if value is not None:
            return f"{value:g}{suffix}"
        if self.low == self.high:
            return f"{self.low:g}{suffix}"
        return f"{self.low:.3g}–{self.high:.3g}{suffix}"


@dataclass(frozen=True)
class Claim:
    """One number the answer states, with its unit and where it sits in the text."""

    text: str  # as written, e.g. "37 billion"
    value: float  # in the unit's scale (billions for "B")
    unit: str
    start: int
    end: int


@dataclass(frozen=True)
class Verdict:
    """A claim, the fact it was compared with (None: no fact has its unit) and the result."""

    claim: Claim
    fact: Fact | None
    correct: bool


@dataclass
class Grade:
    """Every claim's verdict, the required facts nobody stated right, and the overall pass."""

    verdicts: list[Verdict]
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and not self.missing and all(v.correct for v in self.verdicts)

    def __repr__(self) -> str:
        lines = []
        for v in self.verdicts:
            mark = "✅" if v.correct else "❌"
            if v.fact is None:
                lines.append(f"{mark} {v.claim.text!r}: no fact here is measured in {v.claim.unit}")
            else:
                lines.append(
                    f"{mark} {v.claim.text!r} → {v.fact.name}: {v.fact.describe(v.claim.value)} "
                    f"(expected {v.fact.describe()})"
                )
        if self.missing:
            lines.append("❌ not stated correctly: " + ", ".join(self.missing))
        if not self.verdicts:
            reason = "no checkable numbers, so nothing it says can be verified"
        elif self.passed:
            reason = "every number checks out"
        else:
            reason = "a number is wrong or a required one is missing"
        lines.append(f"{'PASS' if self.passed else 'NOT A PASS'}: {reason}.")
        return "\n".join(lines)


def find_claims(text: str) -> list[Claim]:
    """Every number-with-unit in ``text`` that :data:`_PATTERNS` can read, in reading order."""
    claims: dict[tuple[int, int], Claim] = {}
    for pattern, unit in _PATTERNS:
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            word = match.group("w").lower()
            value = float(match.group("n").replace(",", ""))
            if word in _SCALE:
                value *= _SCALE[word]
            elif word in ("parameters", "params"):  # a bare count: in billions like the rest
                value /= 1e9
            span = match.span("n")
            claims.setdefault(span, Claim(match.group(0).strip(), value, unit, *span))
    return sorted(claims.values(), key=lambda c: c.start)


def _window(text: str, claims: list[Claim], i: int) -> tuple[int, int]:
    """Claim ``i``'s own stretch of text: its sentence, cut at the neighbouring claims."""
    claim = claims[i]
    sentence_start = max(text.rfind(mark, 0, claim.start) for mark in (". ", "! ", "? ", "\n"))
    ends = [text.find(mark, claim.end) for mark in (". ", "! ", "? ", "\n")]
    sentence_end = min([e for e in ends if e != -1], default=len(text))
    start = max(sentence_start + 1, claims[i - 1].end if i > 0 else 0)
    end = min(sentence_end, claims[i + 1].start if i + 1 < len(claims) else len(text))
    return start, end


def _nearest_cue(text: str, claim: Claim, window: tuple[int, int], facts: list[Fact]):
    """The fact whose cue word is closest to the claim inside its window, or None."""
    best, best_distance = None, None
    for fact in facts:
        for cue in fact.cues:
            for m in re.finditer(r"\b" + re.escape(cue), text[window[0] : window[1]], re.I):
                start, end = m.start() + window[0], m.end() + window[0]
                distance = max(claim.start - end, start - claim.end, 0)
                if best_distance is None or distance < best_distance:
                    best, best_distance = fact, distance
    return best


def grade(text: str, facts: list[Fact]) -> Grade:
    """Check every claim in ``text`` against ``facts`` (see the module docstring for the rules)."""
    claims = find_claims(text or "")
    verdicts = []
    for i, claim in enumerate(claims):
        same_unit = [f for f in facts if f.unit == claim.unit]
        fact = _nearest_cue(text, claim, _window(text, claims, i), same_unit)
        if fact is None and same_unit:  # no cue word: right if it is right for any fact
            fact = next((f for f in same_unit if f.accepts(claim.value)), same_unit[0])
        verdicts.append(Verdict(claim, fact, fact is not None and fact.accepts(claim.value)))
    stated = {v.fact.name for v in verdicts if v.correct}
    missing = [f.name for f in facts if f.required and f.name not in stated]
    return Grade(verdicts, missing)

"""Multiple-choice questions: the prompt (MMLU-Pro style, options A–J) and reading the answer.

``extract_choice`` reads the letter a model committed to and returns ``None`` when it did not
clearly commit to one: an unreadable answer is counted as wrong, never guessed.
``letter_counts`` and ``letter_bias`` compare the letters chosen with the correct ones (and
say so, rather than crash, when no answer had a readable letter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

LETTERS = "ABCDEFGHIJ"  # MMLU-Pro has up to 10 options

DIRECT_INSTRUCTION = (
    'Answer with the letter of the correct option, in the form "The answer is (X)".'
)
STEP_BY_STEP_INSTRUCTION = (  # MMLU-Pro's chain-of-thought style: needs a large max_tokens
    'Think step by step, then finish your answer with "The answer is (X)" where X is the '
    "letter of the correct option."
)


def format_mcq(
    question: str,
    options: Sequence[str],
    subject: str | None = None,
    instruction: str = DIRECT_INSTRUCTION,
) -> list[dict]:
    """Chat ``messages`` asking one multiple-choice question with options lettered A, B, ..."""
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"need 2 to {len(LETTERS)} options, got {len(options)}")
    if not question.strip() or any(not str(option).strip() for option in options):
        raise ValueError("the question and every option must be non-empty text")
    about = f" about {subject.replace('_', ' ')}" if subject else ""
    lines = [
        f"The following is a multiple choice question{about}. {instruction}",
        "",
        f"Question: {question.strip()}",
        "",
        "Options:",
        *(
            f"{letter}. {str(option).strip()}"
            for letter, option in zip(LETTERS, options, strict=False)
        ),
    ]
    return [{"role": "user", "content": "\n".join(lines)}]


# Statements of the answer. Words match in any case; the letter must be a capital A–J.
# "I" is also a pronoun ("Answer: I think it is B"): not a letter when a verb follows it.
_NOT_PRONOUN = (
    r"(?!I\s+(?:am|think|believe|guess|know|need|would|will|can|cannot|can't|could|do|don't"
    r"|have|feel|hope|must|should|see|agree|chose|choose|pick|select|was)\b)"
)
_ANSWER_IS = re.compile(  # "The answer is (C)", "Answer: C", "the correct option is C", ...
    r"(?i:\banswer(?: to (?:this|the) question)?\s*(?:is|would be|should be|=|:)?"
    r"|\bcorrect (?:option|choice) is|\bI (?:choose|pick|select))"
    r"\s*:?\s*(?i:(?:probably|likely|most likely|clearly)\s+)?(?i:option\s*|choice\s*)?"
    r"\(?" + _NOT_PRONOUN + r"([A-J])\)?(?![\w'’])"
)
_IS_CORRECT = re.compile(  # "Option C is correct", "(C) is the right answer", "C is correct."
    r"(?:(?i:option|choice)\s*\(?([A-J])\)?|\(([A-J])\)|(?:^|(?<=[.!?]\s))([A-J]))"
    r"\s+is\s+(?i:the\s+)?(?i:correct|right)\b",
    re.MULTILINE,
)
_BOXED = re.compile(r"\\boxed\{\s*(?:\\text\{\s*)?\(?([A-J])\)?\s*\}")  # LaTeX \boxed{C}
_ALONE = re.compile(r"^\s*\(?([A-J])\)?[.):]?\s*$")  # the whole answer is one letter
_LEADING = re.compile(r"^\s*\(?([A-J])(?:\)|\.|:|\s+-)\s")  # "C. Ribosome ...", "(C) ..."
_OPTION_LINE = re.compile(r"^\s*\(?([A-J])(?:\)|\.|:)\s", re.MULTILINE)  # a line "B. ..."
_ALTERNATIVE = re.compile(  # "(A) or (B)"
    r"^\s*(?:,|or|and|/)\s*\(?" + _NOT_PRONOUN + r"[A-J]\)?(?![\w'’])"
)


def _plain(text: str) -> str:
    """The text without markdown emphasis and code marks, which hide letters from regexes."""
    return re.sub(r"[*_`]+", "", text)


def _statements(text: str) -> list[tuple[int, int, str]]:
    """Every explicit statement of a choice as ``(start, end, letter)``, in reading order."""
    found = [
        (match.start(), match.end(), next(group for group in match.groups() if group))
        for pattern in (_ANSWER_IS, _IS_CORRECT, _BOXED)
        for match in pattern.finditer(text)
    ]
    return sorted(found)


def extract_choice(text: str | None, n_options: int = 10) -> str | None:
    """The option letter the answer commits to, or ``None`` if there is no clear choice."""
    if not 1 <= n_options <= len(LETTERS):
        raise ValueError(f"n_options must be 1 to {len(LETTERS)}, got {n_options}")
    if not text:
        return None
    text = _plain(text)
    if statements := _statements(text):
        _, end, letter = statements[-1]  # after reasoning, the last statement is the conclusion
        if _ALTERNATIVE.match(text[end:]):
            return None  # "the answer is (A) or (B)" commits to neither
    elif match := _ALONE.match(text) or _LEADING.match(text):
        letter = match.group(1)
        if len(set(_OPTION_LINE.findall(text))) > 1:
            return None  # "A. ...\nB. ...": the reply lists the options, it does not choose
    else:
        return None
    return letter if letter in LETTERS[:n_options] else None


def letter_counts(choices: Sequence[str | None], answers: Sequence[str]) -> pd.DataFrame:
    """How often each letter was chosen and how often it is the correct answer ("none": unread)."""
    chosen = pd.Series([c if isinstance(c, str) else "none" for c in choices], dtype=object)
    table = pd.DataFrame({"chosen": chosen.value_counts(),
                          "correct answer": pd.Series(list(answers), dtype=object).value_counts()})  # fmt: skip
    order = [letter for letter in LETTERS if letter in table.index] + (
        ["none"] if "none" in table.index else []
    )
    return table.reindex(order).fillna(0).astype(int).T


def letter_bias(choices: Sequence[str | None], answers: Sequence[str]) -> str:
    """The most chosen letter and what always answering it would score; or that none was read."""
    read = [c for c in choices if isinstance(c, str)]
    if not read:
        return (f"no answer had a readable letter (0 of {len(choices)}): there is no favourite "
                "letter to check, and every answer is scored as wrong")  # fmt: skip
    top = pd.Series(read).value_counts().idxmax()
    share = sum(c == top for c in read) / len(choices)
    always = sum(a == top for a in answers) / len(answers)
    return (f"most chosen letter: {top} ({share:.0%} of answers); always answering {top} would "
            f"score {always:.1%} on this sample")

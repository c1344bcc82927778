"""The room's keys on disk: one API key per learner, plus the instructor's.

Everything lives in one folder (mode 700) that only the instructor can read:

* ``learners.csv`` (mode 600): ``learner,OPENAI_BASE_URL,OPENAI_API_KEY``, one row per
  learner, the file to hand out from. Removing a row revokes that learner's key.
* ``instructor.key`` (mode 600): the key the live view uses to read ``/metrics``.
* ``engine.keys`` (mode 600): every accepted key, one per line, the file the engine reads.

Keys are never put on a command line (other users of the machine can read those).
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

KEY_PREFIX = "room-"
COLUMNS = ("learner", "OPENAI_BASE_URL", "OPENAI_API_KEY")


class RosterError(ValueError):
    """The room's key files cannot be used as they are; the message says what to do."""


@dataclass(frozen=True)
class Learner:
    name: str
    api_key: str

    def __repr__(self) -> str:  # never show the key
        return f"Learner({self.name!r}, api_key=<hidden>)"


def new_key() -> str:
    """A fresh random API key (32 bytes of randomness, URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def secure_dir(path: Path) -> Path:
    """Create ``path`` (mode 700) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 600, atomically (readers see old or new, never half)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 600
    try:
        with os.fdopen(handle, "w", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_learners(path: Path) -> list[Learner]:
    """The learners in ``learners.csv`` ([] if it does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    learners, names, keys = [], set(), set()
    for number, row in enumerate(rows, start=2):
        name = (row.get("learner") or "").strip()
        key = (row.get("OPENAI_API_KEY") or "").strip()
        if not name or not key:
            raise RosterError(
                f"{path}, line {number}: every row needs a learner name and an OPENAI_API_KEY. "
                f"Fix or delete that row (columns: {', '.join(COLUMNS)})."
            )
        if name in names or key in keys:
            raise RosterError(
                f"{path}, line {number}: learner {name!r} or its key appears twice. "
                "Give every learner their own row and key."
            )
        names.add(name)
        keys.add(key)
        learners.append(Learner(name, key))
    return learners


def handout_csv(learners: list[Learner], base_url: str) -> str:
    """The CSV text of ``learners.csv``: what each learner sets, one row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((learner.name, base_url, learner.api_key) for learner in learners)
    return out.getvalue()


def with_learners(learners: list[Learner], count: int) -> list[Learner]:
    """``learners`` plus new ones (fresh keys) until there are ``count``.

    New names are numbered after the highest ``learner-NN`` in use, so a name revoked in the
    middle of the list is not handed out again.
    """
    learners = list(learners)
    numbers = [int(m.group(1)) for x in learners if (m := re.fullmatch(r"learner-(\d+)", x.name))]
    number = max(numbers, default=0)
    names = {learner.name for learner in learners}
    while len(learners) < count:
        number += 1
        name = f"learner-{number:02d}"
        if name not in names:
            learners.append(Learner(name, new_key()))
    return learners


def without(learners: list[Learner], names: list[str]) -> list[Learner]:
    """``learners`` minus those named; an unknown name is an error that lists the known ones."""
    known = {learner.name for learner in learners}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise RosterError(
            f"No learner called {', '.join(map(repr, unknown))} in the room. "
            f"The room has: {', '.join(sorted(known)) or 'nobody'}."
        )
    return [learner for learner in learners if learner.name not in names]


@dataclass(frozen=True)
class RoomFiles:
    """Where one room keeps its files."""

    folder: Path

    @property
    def learners_csv(self) -> Path:
        return self.folder / "learners.csv"

    @property
    def instructor_key(self) -> Path:
        return self.folder / "instructor.key"

    @property
    def engine_keys(self) -> Path:
        return self.folder / "engine.keys"

    @property
    def state(self) -> Path:
        return self.folder / "room.json"

    @property
    def log(self) -> Path:
        return self.folder / "engine.log"

    def instructor(self) -> str:
        """The instructor's key, created on first use."""
        secure_dir(self.folder)
        if not self.instructor_key.exists():
            write_private(self.instructor_key, new_key() + "\n")
        return self.instructor_key.read_text().strip()

    def learners(self) -> list[Learner]:
        return read_learners(self.learners_csv)

    def save(self, learners: list[Learner], base_url: str) -> None:
        """Write the handout CSV and the engine's key file (both mode 600)."""
        secure_dir(self.folder)
        write_private(self.learners_csv, handout_csv(learners, base_url))
        keys = [self.instructor(), *(learner.api_key for learner in learners)]
        write_private(self.engine_keys, "".join(key + "\n" for key in keys))

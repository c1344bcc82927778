""".env.example lists every setting the course reads, and says truly which a .env may set."""

import re
from pathlib import Path

from utils.config_sources import CONFIG_NAMES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / ".env.example").read_text()
ENVIRONMENT_ONLY = EXAMPLE.split("# Read from the environment only", 1)[1]


def _names(text: str) -> set[str]:
    """Every NAME=... line, commented out or not."""
    return set(re.findall(r"^[#\s]*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def _used_by_the_course() -> set[str]:
    files = [*ROOT.glob("utils/**/*.py"), *ROOT.glob("tools/**/*.py"), *ROOT.glob("tests/**/*.py"),
             ROOT / "conftest.py", ROOT / "Makefile", ROOT / ".ci" / "run"]  # fmt: skip
    return {name for path in files for name in re.findall(r"COOKBOOK_[A-Z_]+[A-Z]", path.read_text())}


def test_every_cookbook_variable_and_every_setting_is_listed():
    listed = _names(EXAMPLE)
    used = _used_by_the_course()
    assert "COOKBOOK_LOCAL_MODEL" in used  # the scan finds what it looks for
    assert used - listed == set(), "add these to .env.example"
    assert set(CONFIG_NAMES) - listed == set()


def test_what_a_dotenv_may_set_and_what_must_be_exported_are_told_apart():
    exported = _names(ENVIRONMENT_ONLY)
    assert exported and not exported & set(CONFIG_NAMES)  # a .env line for these is ignored
    assert _names(EXAMPLE) - exported == set(CONFIG_NAMES)  # everything else: .env works

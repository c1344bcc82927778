"""No secret in any committed file, notebook output or log."""

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_LIKE = [
    re.compile(r"sk-[A-Za-z0-9]{16,}"),  # OpenAI/DashScope style keys
    re.compile(r"Bearer\s+[A-Za-z0-9._\-]{20,}"),  # an Authorization header with a token
    re.compile(r"(?i)(api[_-]?key|secret)\s*[=:]\s*['\"][A-Za-z0-9._\-]{20,}['\"]"),
]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}


def tracked_files() -> list[Path]:
    """Files git tracks (or would commit); every file if this is not a git checkout."""
    try:
        names = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        return [ROOT / n for n in names if n and (ROOT / n).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.parts)]


def test_no_key_like_strings_in_committed_files():
    offenders = []
    for path in tracked_files():
        if path.suffix in {".gz", ".png", ".gguf"}:
            continue
        text = path.read_text(errors="ignore")
        offenders += [f"{path.relative_to(ROOT)}: {p.pattern}" for p in KEY_LIKE if p.search(text)]
    assert not offenders, offenders


def test_real_keys_in_this_environment_appear_nowhere():
    """If a real key is configured where the tests run, no committed file may contain it."""
    keys = [os.environ.get(n, "") for n in ("DASHSCOPE_API_KEY", "OPENAI_API_KEY")]
    dotenv = ROOT / ".env"
    if dotenv.exists():
        from dotenv import dotenv_values

        keys += [v or "" for k, v in dotenv_values(dotenv).items() if "KEY" in k]
    keys = [k for k in keys if len(k) >= 8]
    for path in tracked_files():
        if path.name == ".env":
            continue
        text = path.read_text(errors="ignore")
        assert not any(k in text for k in keys), f"a configured key appears in {path}"


def test_env_file_is_ignored_and_example_has_no_values():
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^DASHSCOPE_API_KEY=$", example, re.MULTILINE)


def test_the_scanner_catches_what_it_should():
    fake = "sk-" + "a1B2" * 8  # built here so this file itself stays clean
    assert KEY_LIKE[0].search(f"api_key='{fake}'")
    assert KEY_LIKE[1].search("Authorization: Bearer " + "x" * 30)
    assert not any(p.search("DASHSCOPE_API_KEY=sk-example") for p in KEY_LIKE)

"""Pre-flight check: is this machine ready for the course? One command, one table.

    python -m utils.preflight        (or: make preflight)

It checks Python, the packages, the data files, the backend your settings choose, and makes
one real call to that backend, timing it. Exit code 0 when everything needed passed.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

REQUIRED = ["openai", "pandas", "numpy", "matplotlib", "ipywidgets", "tqdm", "pydantic"]


@dataclass(frozen=True)
class Result:
    """The outcome of one check: what was checked, whether it passed, and what to do if not."""

    name: str
    ok: bool
    detail: str
    advice: str = ""


def check_python() -> Result:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)  # as pyproject.toml's requires-python
    return Result("Python ≥ 3.11", ok, version, "" if ok else "Install Python 3.11 or newer.")


def check_packages() -> Result:
    missing = [name for name in REQUIRED if not _installed(name)]
    if missing:
        return Result(
            "course packages", False, f"missing: {', '.join(missing)}",
            "Run `make lab` (or `pip install -e '.[lab,local]'`) in the course folder.",
        )  # fmt: skip
    return Result("course packages", True, f"{len(REQUIRED)} found")


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def check_data() -> Result:
    from utils.paths import data_dir

    try:
        sums = (data_dir() / "SHA256SUMS").read_text().splitlines()
    except (OSError, FileNotFoundError) as error:
        return Result("data files", False, str(error), "Run from inside the course folder.")
    pairs = [line.split(maxsplit=1) for line in sums]
    bad = [name for digest, name in pairs if not _intact(data_dir() / name, digest)]
    if bad:
        return Result(
            "data files", False, f"{len(bad)} missing or changed, e.g. {bad[0]}",
            "Restore them: `git checkout -- data/`.",
        )  # fmt: skip
    return Result("data files", True, f"{len(sums)} files intact")


def _intact(path, digest: str) -> bool:
    return path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == digest


def check_disk(minimum_gb: float = 1.0) -> Result:
    from utils.paths import cache_dir

    free = shutil.disk_usage(cache_dir()).free / 1e9
    ok = free >= minimum_gb
    return Result(
        "free disk", ok, f"{free:.1f} GB", "" if ok else f"Free at least {minimum_gb} GB."
    )


def check_dotenv() -> Result:
    from utils.paths import repo_root
    from utils.settings import world_readable_dotenv

    exposed = world_readable_dotenv(repo_root())
    if exposed is not None:
        return Result(
            ".env permissions", False, f"{exposed} is readable by every user",
            f"chmod 600 {exposed}  (model-written code runs in the sandbox as another user)",
        )  # fmt: skip
    return Result(".env permissions", True, "no .env readable by other users")


def check_backend() -> list[Result]:
    """Resolve the settings, reach the backend and time one short answer."""
    from utils import describe_backend, explain, get_client, load_settings
    from utils.local_model import LocalModelError
    from utils.settings import ConfigError

    try:
        started = time.perf_counter()
        settings = load_settings()
        ready = time.perf_counter() - started
    except (ConfigError, LocalModelError) as error:
        return [Result("backend", False, type(error).__name__, str(error))]
    results = [Result("backend", True, describe_backend(settings))]
    if settings.is_local:
        results.append(Result("local model server", True, f"answering after {ready:.1f} s"))
    client = get_client(settings, max_retries=1)
    try:
        started = time.perf_counter()
        response = client.chat.completions.create(
            model=settings.model,
            messages=[{"role": "user", "content": "Say hello in five words."}],
            max_tokens=16,
            temperature=0,
        )
        seconds = time.perf_counter() - started
    except Exception as error:  # any failure here is what the learner needs to see
        return [
            *results,
            Result("first call", False, type(error).__name__, explain(error) or str(error)),
        ]
    tokens = response.usage.completion_tokens if response.usage else 0
    text = (response.choices[0].message.content or "").strip().replace("\n", " ")
    rate = f", {tokens / seconds:.0f} tokens/s" if tokens else ""
    results.append(Result("first call", bool(text), f"{seconds:.1f} s{rate}: {text[:50]!r}"))
    return results


def check_model() -> Result:
    """The configured model: served by the endpoint, not legacy (``python -m utils.models``)."""
    from utils.local_model import LocalModelError
    from utils.models import check_configured
    from utils.settings import ConfigError

    try:
        check = check_configured()
    except (ConfigError, LocalModelError) as error:  # the backend check says what to do
        return Result("model", False, type(error).__name__, str(error))
    detail = f"{check.detail}: {check.advice}" if check.level == "warning" else check.detail
    return Result("model", check.ok, detail, check.advice)


CHECKS: list[Callable[[], Result | list[Result]]] = [
    check_python,
    check_packages,
    check_data,
    check_disk,
    check_dotenv,
    check_backend,
    check_model,
]


def run_checks() -> list[Result]:
    """Run every check in order and return all results."""
    results: list[Result] = []
    for check in CHECKS:
        outcome = check()
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def main() -> int:
    results = run_checks()
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{'✅' if r.ok else '❌'} {r.name:<{width}}  {r.detail}")
        if not r.ok and r.advice:
            print(f"   {'':<{width}}  → {r.advice}")
    failed = [r for r in results if not r.ok]
    print("\nReady for the course." if not failed else f"\n{len(failed)} check(s) need attention.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

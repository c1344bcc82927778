"""Run notebooks top to bottom in place, so committed outputs come from one real run.

    python -m tools.execute_notebooks                    # every lesson and solution
    python -m tools.execute_notebooks notebooks/01_*.ipynb

Each notebook runs in a fresh kernel from its own folder (as Jupyter and nbval do), against
the offline local model unless ``--live`` is given. The wall time of a lesson's run is stored
in ``metadata.cookbook.run_seconds`` and README's table is regenerated from it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools import course

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int = 900) -> float:
    """Execute ``path`` in place; return the wall time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    if path.parent.name != "solutions":
        notebook.metadata.setdefault("cookbook", {})["run_seconds"] = round(seconds, 1)
    nbformat.write(notebook, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument(
        "--live", action="store_true", help="use the configured backend, not the local model"
    )
    args = parser.parse_args()
    if not args.live:
        os.environ["COOKBOOK_PROVIDER"] = "local"
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
        (ROOT / "notebooks" / "solutions").glob("*.ipynb")
    )
    for path in (p.resolve() for p in paths):
        print(f"running {path.relative_to(ROOT)} ...", flush=True)
        print(f"  {execute(path):.1f} s", flush=True)
    for changed in course.sync():
        print(f"updated {changed.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shuffled test runs keep each notebook's cells together and in file order (tests/notebook_order.py)."""

import os
import random
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat

from tests.notebook_order import notebooks_in_file_order

ROOT = Path(__file__).resolve().parent.parent
CELLS = 7


def _cell(notebook: str, number: int):
    return SimpleNamespace(path=Path(notebook), cell_num=number, name=f"{notebook}:{number}")


def _test(name: str):
    return SimpleNamespace(path=Path("tests/test_x.py"), name=name)


def test_cells_are_put_back_together_in_order_where_the_notebook_first_appears():
    tests = [_test(f"t{i}") for i in range(6)]
    cells = [_cell(nb, i) for nb in ("a.ipynb", "b.ipynb") for i in range(CELLS)]
    items = tests + cells
    random.Random(4).shuffle(items)
    ordered = notebooks_in_file_order(items)
    assert sorted(map(id, ordered)) == sorted(map(id, items))  # nothing lost or doubled
    assert [i for i in ordered if i in tests] == [i for i in items if i in tests]  # still shuffled
    for notebook in ("a.ipynb", "b.ipynb"):
        where = [n for n, item in enumerate(ordered) if str(item.path) == notebook]
        assert where == list(range(where[0], where[0] + CELLS))  # contiguous
        assert [ordered[n].cell_num for n in where] == list(range(CELLS))  # in file order
        first = next(n for n, item in enumerate(items) if str(item.path) == notebook)
        before = [item for item in items[:first] if item in tests]
        assert [item for item in ordered[: where[0]] if item in tests] == before  # where it came


def _run(folder: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", *options, str(folder)],
        capture_output=True, text=True, timeout=600, cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_randomly_ordered_run_keeps_the_lesson_in_order(tmp_path):
    """Real pytest-randomly, real nbval: each cell checks that every earlier one ran before it."""
    cells = ["steps = []"] + [
        f"steps.append({k})\nassert steps == list(range(1, {k} + 1)), steps"
        for k in range(1, CELLS)
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(notebook, tmp_path / "lesson.ipynb")
    (tmp_path / "test_plain.py").write_text(
        "".join(f"def test_{i}():\n    pass\n\n\n" for i in range(5))
    )
    seed = "--randomly-seed=3"
    shuffled = _run(tmp_path, "-p", "randomly", seed)  # the control: without the hook
    assert "Using --randomly-seed=3" in shuffled.stdout
    assert shuffled.returncode == 1 and " failed" in shuffled.stdout.splitlines()[-1]
    for seed in ("--randomly-seed=3", "--randomly-seed=11"):
        run = _run(tmp_path, "-p", "randomly", seed, "-p", "tests.notebook_order")
        assert run.returncode == 0, run.stdout[-3000:]
        order = re.findall(r"lesson\S*::Cell (\d+) PASSED", run.stdout)
        assert order == [str(n) for n in range(CELLS)], order
        plain = re.findall(r"test_plain\.py::test_(\d) PASSED", run.stdout)
        assert sorted(plain) == list("01234")


def test_reverse_order_runs_the_last_module_first_and_keeps_the_lesson_in_order(tmp_path):
    cells = ["steps = []"] + [
        f"steps.append({k})\nassert steps == list(range(1, {k} + 1))" for k in range(1, CELLS)
    ]
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
        tmp_path / "lesson.ipynb",
    )
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text(
            "".join(f"def test_{i}():\n    pass\n\n\n" for i in range(3))
        )
    run = _run(tmp_path, "-p", "no:randomly", "-p", "tests.notebook_order", "--reverse-order")
    assert run.returncode == 0, run.stdout[-3000:]
    passed = re.findall(r"(test_\w\.py::test_\d|lesson\S*::Cell \d) PASSED", run.stdout)
    tests = [p for p in passed if "lesson" not in p]
    assert tests == [f"test_{m}.py::test_{i}" for m in "ba" for i in (2, 1, 0)], passed
    lesson = [p for p in passed if "lesson" in p]
    assert lesson == [f"lesson::ipynb::Cell {n}" for n in range(CELLS)], passed
    assert passed[-CELLS:] == lesson  # the first file (lesson.ipynb) ran last

"""Mark ``slow`` the unit tests listed in ``tests/slow_tests.txt`` (measured, see
``tools/slow_tests.py``), so that ``make check`` (``-m 'not slow'``) stays quick."""

from __future__ import annotations

from pathlib import Path

import pytest

LIST = Path(__file__).with_name("slow_tests.txt")


def listed(path: Path = LIST) -> set[str]:
    """The node ids in a slow-test list (a line is an id and its seconds; ``#`` comments)."""
    lines = (line.split("#", 1)[0].split() for line in path.read_text().splitlines())
    return {fields[0] for fields in lines if fields}


def pytest_collection_modifyitems(config, items):
    slow = listed()
    for item in items:
        if item.nodeid in slow:
            item.add_marker(pytest.mark.slow)

"""Each notebook's cells run together and in file order, whatever reorders the tests.

``make test`` runs the tests in a random order (``pytest-randomly``), so that a test that
passes only after another fails where it is born. ``--reverse-order`` runs them backwards
instead (the last module first, its last test first): a test that needs one before it in
file order fails there. A notebook's cells are one lesson, not independent tests: cell 5
needs cells 1-4 and nbval runs them all in one kernel. This hook runs after any reordering
and puts each notebook back together, where its first cell landed.
"""

from __future__ import annotations

import pytest

REVERSE = "--reverse-order"


def pytest_addoption(parser):
    parser.addoption(
        REVERSE,
        action="store_true",
        help="run the tests in reverse file order: the last module first, and within each "
        "module the last test first (notebook cells stay in order); use with -p no:randomly",
    )


def notebooks_in_file_order(items: list) -> list:
    """``items`` with each notebook's cells (nbval items) contiguous and in cell order."""
    cells: dict = {}
    for item in items:
        if _is_cell(item):
            cells.setdefault(item.path, []).append(item)
    ordered = []
    for item in items:
        if not _is_cell(item):
            ordered.append(item)
        elif item.path in cells:  # the notebook's first cell in this order: all of it, here
            ordered.extend(sorted(cells.pop(item.path), key=lambda cell: cell.cell_num))
    return ordered


def _is_cell(item) -> bool:
    return item.path.suffix == ".ipynb" and hasattr(item, "cell_num")


@pytest.hookimpl(trylast=True)  # pytest-randomly shuffles before every plain hook runs
def pytest_collection_modifyitems(config, items):
    if config.getoption(REVERSE, default=False):
        items.reverse()
    items[:] = notebooks_in_file_order(items)

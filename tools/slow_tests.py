"""Which unit tests `make check` leaves out: those that took at least a second in a full run.

    .venv/bin/python -m pytest tests --junitxml=/tmp/run.xml      # or any run that wrote one
    .venv/bin/python -m tools.slow_tests /tmp/run.xml --over 1.0 > tests/slow_tests.txt

Each line of the list is a test's node id and its measured seconds; ``tests/slow_list.py``
marks those tests ``slow``. Notebooks and the tests `make check` skips anyway are left out.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SKIPPED_BY_CHECK = ("tests/test_browser.py", "tests/test_site.py", "tests/test_site_build.py")


def durations(junit_xml: str) -> dict[str, float]:
    """Seconds per unit test (setup, call and teardown) in a pytest ``--junitxml`` report."""
    seconds: dict[str, float] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        module = case.get("classname", "")
        if not module.startswith("tests."):  # a notebook cell, or a test outside tests/
            continue
        folder, name, *classes = module.split(".")  # tests/ is one flat folder
        nodeid = "::".join([f"{folder}/{name}.py", *classes, case.get("name", "")])
        seconds[nodeid] = float(case.get("time", 0))
    return seconds


def slow_tests(seconds: dict[str, float], over: float) -> list[tuple[str, float]]:
    """The tests that took ``over`` seconds or more, slowest first, except check's skips."""
    slow = [(nodeid, s) for nodeid, s in seconds.items()
            if s >= over and not nodeid.startswith(SKIPPED_BY_CHECK)]  # fmt: skip
    return sorted(slow, key=lambda row: (-row[1], row[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit_xml", help="a report written by pytest --junitxml")
    parser.add_argument("--over", type=float, default=1.0, help="seconds (default 1.0)")
    parser.add_argument("--measured", help="where and when the report was made, for the header")
    args = parser.parse_args(argv)
    rows = slow_tests(durations(args.junit_xml), args.over)
    where = args.measured or Path(args.junit_xml).name
    print(f"# {len(rows)} tests that took {args.over:g} s or more in {where}.")
    print("# `make check` leaves them out (tests/slow_list.py), `make test` runs them.")
    print(
        "# Regenerate: python -m tools.slow_tests REPORT.xml --over SECONDS (tools/slow_tests.py)"
    )
    for nodeid, s in rows:
        print(f"{nodeid}  {s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

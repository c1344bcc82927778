"""The measured slow-test list: read from a junit report, marked `slow`, left out of check."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.slow_list import LIST, listed
from tools import slow_tests

ROOT = Path(__file__).resolve().parents[1]

REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_a" name="test_slow" time="2.500" />
<testcase classname="tests.test_a" name="test_fast" time="0.200" />
<testcase classname="tests.test_b" name="test_edge[x-1]" time="1.000" />
<testcase classname="tests.test_b.TestGroup" name="test_in_a_class" time="3.0" />
<testcase classname="tests.test_browser" name="test_page" time="30.0" />
<testcase classname="notebooks.05_multiple_choice.ipynb" name="Cell 6" time="35.8" />
</testsuite></testsuites>"""


def test_the_slow_ones_are_read_slowest_first_without_notebooks_or_checks_skips(tmp_path):
    report = tmp_path / "run.xml"
    report.write_text(REPORT)
    seconds = slow_tests.durations(str(report))
    assert "tests/test_b.py::TestGroup::test_in_a_class" in seconds
    assert not [nodeid for nodeid in seconds if "ipynb" in nodeid]
    assert slow_tests.slow_tests(seconds, over=1.0) == [
        ("tests/test_b.py::TestGroup::test_in_a_class", 3.0),
        ("tests/test_a.py::test_slow", 2.5),
        ("tests/test_b.py::test_edge[x-1]", 1.0),
    ]


def test_the_list_written_is_the_list_read(tmp_path, capsys):
    report = tmp_path / "run.xml"
    report.write_text(REPORT)
    assert slow_tests.main([str(report), "--over", "2", "--measured", "a test run"]) == 0
    written = tmp_path / "slow_tests.txt"
    written.write_text(capsys.readouterr().out)
    assert written.read_text().startswith("# 2 tests that took 2 s or more in a test run.")
    assert listed(written) == {
        "tests/test_b.py::TestGroup::test_in_a_class",
        "tests/test_a.py::test_slow",
    }


def test_every_listed_test_exists():
    missing = []
    for nodeid in listed(LIST):
        path, name = nodeid.split("::", 1)
        source = ROOT / path
        function = name.split("::")[-1].split("[")[0]
        if not source.exists() or not re.search(
            rf"^\s*def {re.escape(function)}\(", source.read_text(), re.M
        ):
            missing.append(nodeid)
    assert len(listed(LIST)) > 100 and missing == []


@pytest.mark.slow  # collects a module twice in fresh interpreters (about 16 s)
def test_a_listed_test_is_slow_and_check_leaves_it_out():
    def collected(marks: str) -> str:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "-m", marks,
             "tests/test_local_server.py"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return run.stdout

    assert "tests/test_local_server.py::test_command_line" in listed(LIST)
    assert "::test_command_line\n" in collected("slow")
    assert "::test_command_line\n" not in collected("not slow")

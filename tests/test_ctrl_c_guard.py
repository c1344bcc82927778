"""The Ctrl-C guard: a run started with SIGINT ignored gets Python's handler, and a test that
leaves SIGINT changed fails, while the tests after it get it back."""

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TESTS = """
import signal

def test_a_started_in_the_background_sees_pythons_handler():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

def test_b_leaves_sigint_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)

def test_c_leaves_sigint_blocked():
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])

def test_d_after_them_finds_it_as_it_was():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
"""


def test_a_run_started_with_sigint_ignored_behaves_the_same_and_a_leak_fails(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.ctrl_c_guard"]\n')
    (tmp_path / "test_leaks.py").write_text(TESTS)
    ignore = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731 (as `cmd &` does)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-q",
         "test_leaks.py"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, preexec_fn=ignore,
    )  # fmt: skip
    out = run.stdout
    assert "4 passed, 2 errors" in out, out
    assert "ERROR at teardown of test_b_leaves_sigint_ignored" in out
    assert "ERROR at teardown of test_c_leaves_sigint_blocked" in out
    assert "left SIGINT handled by <Handlers.SIG_IGN: 1>, blocked signals [] (found " \
           "<built-in function default_int_handler>, [])" in out  # fmt: skip
    assert "blocked signals [<Signals.SIGINT: 2>] (found <built-in function" in out

"""Ctrl-C behaves the same in every test, however the run was started and in any order.

* A run started in the background by a non-interactive shell (``cmd &``, ``nohup``) inherits
  SIGINT ignored, and Python keeps it ignored (``SIG_IGN``). nbclient's in-process
  ``NotebookClient.execute`` adds an asyncio SIGINT handler and removes it, and asyncio's
  ``remove_signal_handler`` then sets Python's ``default_int_handler``. So the tests after the
  first in-process notebook saw a different Ctrl-C than those before it: a Ctrl-C test passed
  or failed by order. The run starts with Python's default handler instead.
* A test that leaves SIGINT's handler or the blocked signals changed fails at teardown, with
  what it left; the tests after it get them back as they were.
"""

from __future__ import annotations

import signal

import pytest


def ctrl_c_state() -> tuple:
    """SIGINT's Python-level handler and the main thread's blocked signals."""
    return signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, [])


def pytest_configure(config):
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _ctrl_c_left_as_found():
    found = ctrl_c_state()
    yield
    left = ctrl_c_state()
    if left != found:
        signal.signal(signal.SIGINT, found[0])
        signal.pthread_sigmask(signal.SIG_SETMASK, found[1])
        pytest.fail(
            f"left SIGINT handled by {left[0]!r}, blocked signals {sorted(left[1])} "
            f"(found {found[0]!r}, {sorted(found[1])}); put back for the tests after it",
            pytrace=False,
        )

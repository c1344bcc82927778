"""Session set-up for every pytest run from this folder (unit tests and nbval notebooks alike).

* The run starts its own local model server in a temporary state folder (notebook kernels
  that nbval starts inherit it) and stops it when the session ends, so it never uses or
  stops a learner's server.
* Ctrl-C is the same in every test, however the run was started (``tests/ctrl_c_guard.py``).
* ``COOKBOOK_PROVIDER=local`` keeps a developer's real key or ``.env`` from being used (and
  billed); set ``COOKBOOK_TEST_LIVE=1`` to run the notebooks against your configured backend.

Here rather than in ``tests/conftest.py`` so that ``pytest notebooks/NN_name.ipynb`` alone
gets the same isolation.
"""

from __future__ import annotations

import os
import tempfile

# --model-studio-standin: the notebooks on the DashScope path, against a loopback stand-in;
# notebook_order: a notebook's cells stay in file order when pytest-randomly shuffles the tests;
# ctrl_c_guard: SIGINT handled alike in every test; slow_list: the measured slow tests, `slow`
pytest_plugins = [
    "tests.standin_plugin",
    "tests.notebook_order",
    "tests.ctrl_c_guard",
    "tests.slow_list",
]

_STATE_DIR = tempfile.mkdtemp(prefix="cookbook-test-state-")


def pytest_configure(config):
    os.environ["COOKBOOK_STATE_DIR"] = _STATE_DIR
    if os.environ.get("COOKBOOK_TEST_LIVE") != "1":
        os.environ["COOKBOOK_PROVIDER"] = "local"


def pytest_sessionfinish(session, exitstatus):
    from utils import local_server

    local_server.stop()

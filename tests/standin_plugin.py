"""pytest plugin: run the notebooks as a learner with a key would, against the Model Studio stand-in.

    .venv/bin/python -m pytest -p tests.standin_plugin --model-studio-standin notebooks/01_first_api_call.ipynb

With the option, the session starts the local model server (in a temporary state folder
unless ``COOKBOOK_STATE_DIR`` is set) and a ``ModelStudioStandIn`` in front of it, and points
``DASHSCOPE_API_KEY`` and ``DASHSCOPE_BASE_URL`` at the stand-in, so every notebook kernel
takes the DashScope path. A cell whose output contains the key fails. ``--standin-clock-speed
K`` runs the rate limits' minute K times faster, on both sides (``utils.request_pacing``).
Without the option the plugin does nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter

import pytest

from tests.model_studio_standin import ModelStudioStandIn
from utils.request_pacing import CLOCK_SPEED

OPTION = "--model-studio-standin"
_state: dict = {}


def pytest_addoption(parser):
    group = parser.getgroup("model-studio-standin")
    group.addoption(OPTION, action="store_true", help="run against the Model Studio stand-in")
    group.addoption(
        "--standin-per-second",
        action="store_true",
        help="also enforce Model Studio's per-second rate limit (RPM/60 requests a second)",
    )
    group.addoption(
        "--standin-clock-speed",
        type=float,
        default=1.0,
        metavar="K",
        help="run the rate limits' clock K times faster than real time, in the stand-in and in "
        "every kernel's pacing alike (COOKBOOK_TEST_CLOCK_SPEED): a minute lasts 60/K s",
    )
    group.addoption(
        "--standin-without-batch",
        action="store_true",
        help="answer /files and /batches with 404, as an endpoint without the Batch API does",
    )


@pytest.hookimpl(trylast=True)  # after conftest.py has set the state folder and provider
def pytest_configure(config):
    if not config.getoption(OPTION, default=False):
        return
    if not os.environ.get("COOKBOOK_STATE_DIR"):  # hermetic, like conftest.py
        os.environ["COOKBOOK_STATE_DIR"] = tempfile.mkdtemp(prefix="cookbook-standin-state-")
    from utils import local_model, local_server

    speed = config.getoption("--standin-clock-speed")
    if speed != 1:  # before any client is made: kernels and this process pace on it too
        os.environ[CLOCK_SPEED] = f"{speed:g}"
    model = local_model.selected()
    _state["started_server"] = local_server.status(wait=2.0) is None
    url = local_server.ensure_running(model)
    standin = ModelStudioStandIn(
        url,
        model.alias,
        per_second=config.getoption("--standin-per-second"),
        batch=not config.getoption("--standin-without-batch"),
        clock_speed=speed,
    )
    _state["standin"] = standin
    os.environ["COOKBOOK_PROVIDER"] = "dashscope"
    os.environ["DASHSCOPE_API_KEY"] = standin.api_key
    os.environ["DASHSCOPE_BASE_URL"] = standin.base_url


def pytest_unconfigure(config):
    standin = _state.pop("standin", None)
    if standin is not None:
        standin.close()
    if _state.pop("started_server", False):  # leave a server someone else started running
        from utils import local_server

        local_server.stop()


def leaked(outputs, key: str) -> bool:
    """True if the key, or its secret part, appears anywhere in a cell's outputs."""
    text = json.dumps(outputs, default=str)
    return key in text or key.removeprefix("sk-") in text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    standin = _state.get("standin")
    if standin is None or call.when != "call":
        return
    report = outcome.get_result()
    if leaked(getattr(item, "test_outputs", None), standin.api_key):
        report.outcome = "failed"
        report.longrepr = "The DASHSCOPE_API_KEY appears in this cell's output."


def pytest_terminal_summary(terminalreporter):
    standin = _state.get("standin")
    if standin is None:
        return
    models = Counter(r["body"].get("model") for r in standin.requests)
    dropped = Counter(name for r in standin.requests for name in r["dropped"])
    terminalreporter.write_sep("-", "Model Studio stand-in")
    terminalreporter.write_line(f"chat requests answered: {dict(models)}")
    if standin.clock_speed != 1:
        terminalreporter.write_line(
            f"rate limits kept on a clock ×{standin.clock_speed:g} (a minute is "
            f"{60 / standin.clock_speed:g} s)"
        )
    if standin.refusals:
        terminalreporter.write_line(f"requests refused (status, code): {dict(standin.refusals)}")
    if dropped:
        terminalreporter.write_line(
            f"parameters Model Studio does not document, dropped: {dict(dropped)}"
        )

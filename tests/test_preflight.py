"""The pre-flight check passes on a ready machine and names what to fix otherwise."""

import shutil

from utils import preflight


def test_a_ready_machine_passes(local_settings, capsys):
    results = preflight.run_checks()
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert [r.name for r in results][-2:] == ["first call", "model"]
    assert preflight.main() == 0
    assert "Ready for the course." in capsys.readouterr().out


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setattr(preflight, "REQUIRED", ["openai", "surely-not-installed"])
    result = preflight.check_packages()
    assert not result.ok and "surely-not-installed" in result.detail and "make lab" in result.advice


def test_changed_data_file_is_detected(tmp_path, monkeypatch):
    from utils.paths import data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    monkeypatch.setattr("utils.paths.data_dir", lambda: copy)
    assert preflight.check_data().ok
    (copy / "gsm8k" / "test.jsonl").write_text("{}\n")
    result = preflight.check_data()
    assert not result.ok and "gsm8k/test.jsonl" in result.detail and "git checkout" in result.advice


def test_rejected_key_fails_the_first_call_with_advice(fake_api, monkeypatch, tmp_path):
    server = fake_api(401, {"error": {"message": "Incorrect API key provided."}})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOKBOOK_PROVIDER", "openai-compatible")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "some-model")
    results = preflight.check_backend()
    assert results[0].ok and not results[-1].ok
    assert results[-1].name == "first call" and "OPENAI_API_KEY" in results[-1].advice


def test_bad_setting_fails_the_backend_check(monkeypatch):
    monkeypatch.setenv("COOKBOOK_PROVIDER", "nonsense")
    (result,) = preflight.check_backend()
    assert not result.ok and "COOKBOOK_PROVIDER" in result.advice


def test_world_readable_env_file_is_flagged(monkeypatch):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(dir="/tmp") as name:  # /tmp: every user may enter
        folder = Path(name)
        folder.chmod(0o755)
        monkeypatch.setattr("utils.paths.repo_root", lambda: folder)
        assert preflight.check_dotenv().ok  # no .env at all
        dotenv = folder / ".env"
        dotenv.write_text("DASHSCOPE_API_KEY=x\n")
        dotenv.chmod(0o644)
        result = preflight.check_dotenv()
        assert not result.ok and "chmod 600" in result.advice
        dotenv.chmod(0o600)
        assert preflight.check_dotenv().ok


def test_the_model_check_names_a_legacy_model(fake_api, monkeypatch, tmp_path):
    server = fake_api(200, {}, models=["qwen-max-2025-01-25", "qwen3-max"])
    monkeypatch.chdir(tmp_path)  # no .env from the course folder
    monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-" + "0" * 32)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", server.base_url)
    result = preflight.check_model()
    assert "legacy" in result.detail and "qwen3-max" in result.detail


def test_the_model_check_does_not_crash_on_a_bad_setting(monkeypatch):
    monkeypatch.setenv("COOKBOOK_PROVIDER", "nonsense")
    result = preflight.check_model()
    assert not result.ok and result.detail == "ConfigError"

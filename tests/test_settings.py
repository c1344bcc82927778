"""Backend resolution over combinations of settings, masking, and where values come from."""

import sys
import types

import pytest

from utils.local_model import BUNDLED
from utils.settings import (
    CONFIG_NAMES,
    DASHSCOPE_BASE_URLS,
    DEFAULT_QWEN_MODEL,
    ConfigError,
    Secret,
    read_config,
    resolve_settings,
)

MODEL_ALIAS = BUNDLED.alias

KEY = "sk-" + "0123456789abcdef" * 2  # made up, shaped like a DashScope key (built so the
# secret scanner in test_secrets.py does not flag this file)


@pytest.mark.parametrize(
    ("values", "provider", "base_url", "model"),
    [
        ({}, "local", None, MODEL_ALIAS),
        ({"DASHSCOPE_API_KEY": KEY}, "dashscope", DASHSCOPE_BASE_URLS["intl"], DEFAULT_QWEN_MODEL),
        (
            {"DASHSCOPE_API_KEY": KEY, "DASHSCOPE_REGION": "cn"},
            "dashscope",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            DEFAULT_QWEN_MODEL,
        ),
        (
            {"DASHSCOPE_API_KEY": KEY, "DASHSCOPE_REGION": "CN", "QWEN_MODEL": "qwen-plus"},
            "dashscope",
            DASHSCOPE_BASE_URLS["cn"],
            "qwen-plus",
        ),
        (
            {"DASHSCOPE_API_KEY": KEY, "DASHSCOPE_BASE_URL": "https://proxy.example/v1/"},
            "dashscope",
            "https://proxy.example/v1",
            DEFAULT_QWEN_MODEL,
        ),
        (
            {"OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_MODEL": "qwen2.5:0.5b"},
            "openai-compatible",
            "http://localhost:11434/v1",
            "qwen2.5:0.5b",
        ),
        (  # the DashScope key wins over another server
            {"DASHSCOPE_API_KEY": KEY, "OPENAI_BASE_URL": "http://localhost:8000/v1"},
            "dashscope",
            DASHSCOPE_BASE_URLS["intl"],
            DEFAULT_QWEN_MODEL,
        ),
        (  # ... unless a provider is forced
            {"DASHSCOPE_API_KEY": KEY, "COOKBOOK_PROVIDER": "local"},
            "local",
            None,
            MODEL_ALIAS,
        ),
        (
            {
                "DASHSCOPE_API_KEY": KEY,
                "OPENAI_BASE_URL": "http://h:1/v1",
                "COOKBOOK_PROVIDER": "openai-compatible",
            },
            "openai-compatible",
            "http://h:1/v1",
            None,
        ),
        ({"OPENAI_API_KEY": KEY}, "local", None, MODEL_ALIAS),  # a key alone picks no server
    ],
)
def test_resolution_order(values, provider, base_url, model):
    settings = resolve_settings(values)
    assert (settings.provider, settings.base_url, settings.model) == (provider, base_url, model)


def test_reason_names_the_source_and_precedence():
    settings = resolve_settings(
        {"DASHSCOPE_API_KEY": KEY, "OPENAI_BASE_URL": "http://h:1/v1"},
        {"DASHSCOPE_API_KEY": ".env file"},
    )
    assert "DASHSCOPE_API_KEY from .env file" in settings.reason
    assert "takes precedence" in settings.reason


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"DASHSCOPE_API_KEY": KEY, "DASHSCOPE_REGION": "us"}, "'intl' or 'cn'"),
        ({"COOKBOOK_PROVIDER": "dashscope"}, "DASHSCOPE_API_KEY is not set"),
        ({"COOKBOOK_PROVIDER": "openai-compatible"}, "OPENAI_BASE_URL is not set"),
        ({"COOKBOOK_PROVIDER": "openai"}, "is not one of"),
        ({"OPENAI_BASE_URL": "localhost:8000/v1"}, "must start with http"),
    ],
)
def test_bad_settings_say_what_to_do(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve_settings(values)


def test_key_is_masked_everywhere():
    settings = resolve_settings({"DASHSCOPE_API_KEY": KEY})
    for text in (
        repr(settings),
        str(settings),
        f"{settings}",
        f"{settings.api_key}",
        str(settings.api_key),
        repr(settings.api_key),
        f"{settings.api_key:>60}",
    ):
        assert KEY not in text
        assert KEY[-6:] not in text
    assert settings.api_key.reveal() == KEY
    assert bool(Secret("")) is False and str(Secret("")) == "<not set>"


def test_read_config_precedence_environment_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f'DASHSCOPE_API_KEY="{KEY}"\nQWEN_MODEL=qwen-plus\nUNRELATED=1\n')
    values, sources = read_config({"QWEN_MODEL": "qwen-turbo"}, dotenv_path=dotenv)
    assert values == {"DASHSCOPE_API_KEY": KEY, "QWEN_MODEL": "qwen-turbo"}
    assert sources == {
        "DASHSCOPE_API_KEY": f".env file {dotenv.resolve()}",
        "QWEN_MODEL": "environment",
    }


def test_read_config_strips_whitespace_and_ignores_empty(tmp_path):
    values, _ = read_config(
        {"DASHSCOPE_API_KEY": f"  {KEY}\n", "OPENAI_BASE_URL": "   "}, dotenv_path=tmp_path / "none"
    )
    assert values == {"DASHSCOPE_API_KEY": KEY}


@pytest.fixture
def fake_colab(monkeypatch):
    """A stand-in for ``google.colab.userdata`` holding one secret."""
    secrets = {"DASHSCOPE_API_KEY": KEY}

    class SecretNotFoundError(Exception):
        pass

    def get(name):
        if name not in secrets:
            raise SecretNotFoundError(name)
        return secrets[name]

    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    userdata = types.ModuleType("google.colab.userdata")
    userdata.get = get
    colab.userdata = userdata
    google.colab = colab
    for name, module in (
        ("google", google),
        ("google.colab", colab),
        ("google.colab.userdata", userdata),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    return secrets


def test_colab_secrets_are_read_on_colab(fake_colab, tmp_path):
    values, sources = read_config({}, dotenv_path=tmp_path / "none")
    assert values == {"DASHSCOPE_API_KEY": KEY}
    assert sources["DASHSCOPE_API_KEY"] == "Colab secrets"
    assert resolve_settings(values, sources).provider == "dashscope"


def test_environment_beats_colab_secrets(fake_colab, tmp_path):
    values, sources = read_config({"DASHSCOPE_API_KEY": "sk-from-env"}, dotenv_path=tmp_path / "x")
    assert (
        values["DASHSCOPE_API_KEY"] == "sk-from-env"
        and sources["DASHSCOPE_API_KEY"] == "environment"
    )


def test_no_colab_module_means_no_colab_secrets(tmp_path):
    assert "google.colab" not in sys.modules
    assert read_config({}, dotenv_path=tmp_path / "none") == ({}, {})


def test_load_settings_local_starts_the_server(local_settings):
    assert local_settings.base_url.startswith("http://127.0.0.1:")
    assert local_settings.model == MODEL_ALIAS


def test_load_settings_asks_the_server_for_its_only_model(fake_api, monkeypatch, tmp_path):
    from utils import load_settings

    server = fake_api(200, {}, models=["qwen2.5-7b-instruct"])
    monkeypatch.chdir(tmp_path)  # no .env above tmp_path
    monkeypatch.setenv("COOKBOOK_PROVIDER", "openai-compatible")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    assert load_settings().model == "qwen2.5-7b-instruct"


def test_load_settings_names_the_choices_when_several_models(fake_api, monkeypatch, tmp_path):
    from utils import load_settings

    server = fake_api(200, {}, models=["a-model", "b-model"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOKBOOK_PROVIDER", "openai-compatible")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(ConfigError, match="Set OPENAI_MODEL: .* serves a-model, b-model"):
        load_settings()


def test_a_dotenv_in_a_parent_folder_is_named_in_the_reason(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"DASHSCOPE_API_KEY={KEY}\n")
    below = tmp_path / "course" / "notebooks"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    for name in CONFIG_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings = resolve_settings(*read_config())
    assert settings.provider == "dashscope"
    assert f"DASHSCOPE_API_KEY from .env file {(tmp_path / '.env').resolve()}" in settings.reason
    assert KEY not in settings.reason


def test_local_model_setting_picks_the_alias_without_starting_anything(tmp_path):
    gguf = tmp_path / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    settings = resolve_settings({"COOKBOOK_LOCAL_MODEL": str(gguf)})
    assert settings.provider == "local" and settings.model == "qwen2.5-0.5b-instruct-q4_k_m"
    assert resolve_settings({"COOKBOOK_LOCAL_MODEL": "qwen2.5-1.5b-instruct"}).model == (
        "qwen2.5-1.5b-instruct"
    )
    with pytest.raises(ConfigError, match="neither a .gguf file nor a known name"):
        resolve_settings({"COOKBOOK_LOCAL_MODEL": "gpt-5"})

"""The model table (data/models.csv) and check-models, against the Model Studio stand-in."""

import re

import pytest

from tests.model_studio_standin import ModelStudioStandIn
from utils import model_table, models
from utils.loopback.scripted import completion, scripted_servers
from utils.pricing import load_prices
from utils.settings import Secret, Settings

SNAPSHOT = "qwen-max-2025-01-25"
ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def test_every_row_says_where_its_numbers_come_from():
    table = model_table.load_models()
    assert table.index.is_unique and SNAPSHOT in table.index
    assert set(table.status) <= {"current", "legacy", "local", "retired"}
    assert table.checked.str.fullmatch(ISO_DATE).all()
    for model, row in table[table.provider.str.startswith("Alibaba")].iterrows():
        if row.notna()[["rpm", "tpm"]].any():
            assert row.limits_source.startswith("https://www.alibabacloud.com/"), model
            assert re.fullmatch(ISO_DATE, row.limits_source_date), model
        if row.notna()["input_usd_per_million_tokens"]:
            assert row.price_source.startswith("https://"), model
            assert re.fullmatch(ISO_DATE, row.price_source_date), model
        if row.status == "legacy":
            assert row.use_instead in table.index, model


def test_the_snapshot_row_holds_the_documented_limits():
    info = model_table.model_info(SNAPSHOT)
    assert (info["context_window"], info["max_output"]) == (32768, 8192)
    assert model_table.rate_limits(SNAPSHOT) == (60, 100000)
    assert model_table.rate_limits("qwen-max") == (600, 1000000)
    assert (info["logprobs"], info["max_n"], info["json_schema"]) == ("no", 1, "no")
    assert info["status"] == "legacy" and info["use_instead"] == "qwen3-max"


def test_unknown_ids_have_no_info_and_no_limits():
    assert model_table.model_info("no-such-model") is None and model_table.model_info(None) is None
    assert model_table.rate_limits("no-such-model") == (None, None)
    assert model_table.rate_limits("smollm2-135m-instruct") == (None, None)


def test_prices_are_the_priced_rows_of_the_model_table():
    prices = load_prices()
    table = model_table.load_models()
    assert list(prices.index) == list(table.index[table.input_usd_per_million_tokens.notna()])
    assert prices.loc["qwen-max", "source"] == table.loc["qwen-max", "price_source"]
    assert prices.loc["qwen-max", "source_date"] == "2025-04-22"


@pytest.mark.parametrize(
    ("model", "listed", "level", "says"),
    [
        ("qwen3-max", ["qwen3-max", SNAPSHOT], "ok", "current"),
        (SNAPSHOT, ["qwen3-max", SNAPSHOT], "warning", "set QWEN_MODEL=qwen3-max"),
        (SNAPSHOT, ["qwen-max", "qwen3-max"], "error", "Set QWEN_MODEL=qwen3-max."),
        (SNAPSHOT, ["qwen-max"], "error", "Set QWEN_MODEL=qwen-max."),
        ("my-model", ["my-model"], "warning", "not in data/models.csv"),
        (SNAPSHOT, None, "warning", "did not list its models"),
        (None, [], "error", "Set QWEN_MODEL"),
    ],
)
def test_check_model(model, listed, level, says):
    check = models.check_model(model, listed)
    assert check.level == level and says in check.detail + " " + check.advice
    assert check.ok == (level != "error")


def test_the_variable_named_follows_the_provider():
    check = models.check_model("x", ["y"], provider="openai-compatible")
    assert "OPENAI_MODEL" in check.advice


@pytest.fixture
def standin():
    with scripted_servers() as make:
        backend = make(lambda body: (200, completion("ok")))
        with ModelStudioStandIn(
            backend.base_url, "scripted", models=["qwen-max", "qwen3-max"]
        ) as s:
            yield s


def settings_for(standin, key=None, model=SNAPSHOT) -> Settings:
    return Settings("dashscope", standin.base_url, model, Secret(key or standin.api_key), "test")


def test_check_configured_lists_the_endpoints_models_through_the_sdk(standin):
    check = models.check_configured(settings_for(standin))
    assert check.listed == ["qwen-max", "qwen3-max"]
    assert check.level == "error" and check.advice == "Set QWEN_MODEL=qwen3-max."
    assert models.check_configured(settings_for(standin, model="qwen3-max")).level == "ok"


def test_check_configured_with_a_wrong_key_says_so(standin):
    check = models.check_configured(settings_for(standin, key="sk-" + "1" * 32))
    assert check.level == "error" and "rejected the key" in check.advice


def test_check_models_command(standin, monkeypatch, capsys):
    monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
    monkeypatch.setenv("DASHSCOPE_API_KEY", standin.api_key)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", standin.base_url)
    monkeypatch.setenv("QWEN_MODEL", SNAPSHOT)
    assert models.main() == 1
    out = capsys.readouterr().out
    assert "serves 2 model(s): qwen-max, qwen3-max" in out
    assert f"❌ {SNAPSHOT} is not served" in out and "→ Set QWEN_MODEL=qwen3-max." in out
    assert "32,768" in out and "100,000" in out and standin.api_key not in out
    monkeypatch.setenv("QWEN_MODEL", "qwen-max")
    assert models.main() == 0
    assert "⚠️  qwen-max is legacy" in capsys.readouterr().out


def test_registry_table_reads_well():
    table = models.registry_table()
    assert table.loc[SNAPSHOT, "context"] == "32,768" and table.loc[SNAPSHOT, "RPM"] == "60"
    assert table.loc["qwen3-max", "RPM"] == ""  # not checked: blank, never a guess

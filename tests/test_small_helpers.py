"""Pricing, versions, paths and the exercise framework."""

import types
from pathlib import Path

import pytest

from utils import exercises
from utils.paths import data_dir, repo_root, shared_server_port, shown_path
from utils.pricing import cost_usd, load_prices
from utils.versions import package_versions, print_versions


def test_every_paid_price_has_a_source_and_date():
    prices = load_prices()
    paid = prices[prices.input_usd_per_million_tokens > 0]
    assert "qwen-max" in paid.index
    assert paid.source.str.startswith("https://").all()
    assert paid.source_date.str.match(r"\d{4}-\d{2}-\d{2}").all()


@pytest.mark.parametrize(
    ("prompt", "completion", "expected"),
    [(36, 146, (36 * 1.6 + 146 * 6.4) / 1e6), (0, 0, 0.0), (1_000_000, 1_000_000, 8.0)],
)
def test_cost_from_a_dict_or_a_usage_object(prompt, completion, expected):
    price = load_prices().loc["qwen-max"]
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    assert cost_usd(usage, price) == pytest.approx(expected)
    assert cost_usd(types.SimpleNamespace(**usage), price) == pytest.approx(expected)


def test_cost_without_usage_says_so():
    with pytest.raises(ValueError, match="completion_tokens"):
        cost_usd(
            {"prompt_tokens": 3},
            {"input_usd_per_million_tokens": 1, "output_usd_per_million_tokens": 1},
        )


def test_versions_report_installed_and_missing(capsys):
    versions = package_versions(["openai", "surely-not-a-package"])
    assert versions["openai"][0].isdigit() and versions["surely-not-a-package"] == "not installed"
    print_versions(["openai"])
    assert "openai" in capsys.readouterr().out


def test_paths_find_the_course(tmp_path, monkeypatch):
    assert (repo_root() / "notebooks").is_dir() and data_dir() == repo_root() / "data"
    monkeypatch.chdir(tmp_path)  # still found next to the package
    assert (repo_root() / "pyproject.toml").exists()


def test_paths_are_shown_from_the_state_folder_or_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_STATE_DIR", str(tmp_path / "state"))
    assert (
        shown_path(tmp_path / "state" / "local_server.log")
        == "$COOKBOOK_STATE_DIR/local_server.log"
    )
    assert shown_path(Path.home() / ".cache" / "x.log") == "~/.cache/x.log"
    monkeypatch.delenv("COOKBOOK_STATE_DIR")
    assert shown_path("/elsewhere/x.log") == "/elsewhere/x.log"


def test_the_shared_server_port_comes_from_its_state_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_STATE_DIR", str(tmp_path))
    assert shared_server_port() is None
    (tmp_path / "local_server.json").write_text('{"port": 8123, "pid": 1}')
    assert shared_server_port() == 8123
    (tmp_path / "local_server.json").write_text("not json")
    assert shared_server_port() is None


def test_check_reads_as_a_verdict():
    assert repr(exercises.solved("ok")) == "✅ Solved: ok" and exercises.solved()
    assert repr(exercises.not_yet("why")) == "❌ Not yet: why" and not exercises.not_yet("x")


def test_hints_come_in_levels(capsys):
    hint = exercises.hint_printer({1: ["first", "second"]})
    hint(1)
    assert "Hint 1/2 for exercise 1: first (more: hint(1, 2))" in capsys.readouterr().out
    hint(1, 5)
    assert "Hint 2/2 for exercise 1: second" in capsys.readouterr().out
    hint(7)
    assert "no exercise 7" in capsys.readouterr().out


def test_guarded_turns_learner_errors_into_not_yet():
    @exercises.guarded
    def check(function):
        function()
        return exercises.solved()

    def unfinished():
        raise NotImplementedError

    assert "not started yet" in check(unfinished).message
    assert "ZeroDivisionError" in check(lambda: 1 / 0).message
    assert check(lambda: None).solved


def test_check_cases_names_the_first_wrong_case_or_counts_them():
    from utils.exercises import check_cases

    cases = [((2,), 4), ((3,), 9), ((4,), 16)]
    assert check_cases(lambda x: x * x, cases, "squares.").solved
    named = check_cases(lambda x: x + x, cases, "squares.")
    assert not named.solved and named.message == "for 3 you returned 6, expected 9."
    counted = check_cases(lambda x: x + x, cases, "squares.", what="squares", reveal=False)
    assert counted.message == "2 of 3 squares wrong; test your function on your own cases."
    worded = check_cases(lambda x: 0, cases, "", describe=lambda args: f"x={args[0]}")
    assert worded.message.startswith("for x=2 you returned 0")


def test_close_to_accepts_numbers_within_tolerance_only():
    from utils.exercises import close_to

    same = close_to(rel_tol=1e-3)
    assert same(1.0005, 1.0) and not same(1.01, 1.0)
    assert not same(None, 1.0) and not same("1.0", 1.0) and not same(True, 1.0)
    assert close_to(abs_tol=1e-9)(0, 1e-12)

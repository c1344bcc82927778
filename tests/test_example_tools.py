"""utils.example_tools: a calculator that never evals, a lookup that keeps blanks, a converter."""

import math
import re
from fractions import Fraction

import pytest

from utils.datasets import load_reported_benchmarks
from utils.example_tools import (
    ARITHMETIC,
    calculator,
    convert_units,
    lookup_benchmark,
    safe_eval,
)
from utils.tools import ToolBox


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("37 * 41", 37 * 41),
        ("76.1 - 75.9", float(Fraction("76.1") - Fraction("75.9"))),
        ("(76.1 - 75.9) / 75.9 * 100", float((Fraction("76.1") - Fraction("75.9")) / Fraction("75.9") * 100)),
        ("2 + 3 * 4", 2 + 3 * 4),
        ("-(3 + 4) * +5", -(3 + 4) * 5),
        ("2 ** 10", 2**10),
        ("2 ** -2", 2**-2),
        ("2 ** 0.5", 2**0.5),
        ("10 / 4", 10 / 4),
    ],
)  # fmt: skip
def test_safe_eval_does_arithmetic(expression, expected):
    assert safe_eval(expression) == expected


def test_safe_eval_is_exact_where_floats_are_not():
    assert 76.1 - 75.9 != 0.2  # plain floats
    assert safe_eval("76.1 - 75.9") == 0.2
    assert isinstance(safe_eval("6 / 3"), int)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("__import__('os').system('ls')", "Call is not allowed"),
        ("x + 1", "Name is not allowed"),
        ("(1).real", "Attribute is not allowed"),
        ("'a' * 3", "Constant is not allowed"),
        ("True + 1", "Constant is not allowed"),
        ("7 // 2", "BinOp is not allowed"),
        ("[1, 2]", "List is not allowed"),
        ("2 ** 1000", "exponent 1000 is too large"),
        ("9 ** 9 ** 9", "too large"),
        ("((9 ** 99) ** 99) ** 99", "too large to compute"),
        ("(-8) ** (1/3)", "not a real number"),
        ("1 +", "is not an arithmetic expression"),
    ],
)
def test_safe_eval_refuses_everything_else(expression, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        safe_eval(expression)


def test_division_by_zero_is_a_clear_error():
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        safe_eval("1 / (2 - 2)")
    with pytest.raises(ZeroDivisionError, match="negative power"):
        safe_eval("0 ** -1")


def test_calculator_pattern_keeps_letters_out_before_it_runs():
    assert re.fullmatch(ARITHMETIC[1:-1], "(1 + 2) * 3.5 ** 2")
    result = ToolBox([calculator]).execute("c", "calculator", '{"expression": "os.system(1)"}')
    assert result.error == "invalid arguments" and "pattern" in result.content
    assert calculator("1 + 1") == 2


def test_lookup_returns_the_table_value_with_forgiving_names():
    table = load_reported_benchmarks("instruct")
    for row in table.dropna(subset=["score"]).itertuples():
        assert lookup_benchmark(row.model, row.benchmark)["score"] == row.score
    qwen = table[(table.model == "Qwen2.5-Max") & (table.benchmark == "MMLU-Pro")].score.item()
    assert lookup_benchmark("qwen2.5 max", "mmlu pro")["score"] == qwen


def test_lookup_keeps_blanks_blank():
    table = load_reported_benchmarks("instruct")
    blanks = table[table.score.isna()]
    assert len(blanks) > 0
    for row in blanks.itertuples():
        found = lookup_benchmark(row.model, row.benchmark)
        assert found["score"] is None and "do not guess" in found["note"]


def test_lookup_errors_say_what_exists():
    with pytest.raises(ValueError, match="unknown model 'GPT-5'; known models: Qwen2.5-Max"):
        lookup_benchmark("GPT-5", "MMLU-Pro")
    with pytest.raises(ValueError, match=re.escape("it has: Arena-Hard, MMLU-Pro")):
        lookup_benchmark("DeepSeek-V3", "LiveCodeBench")


def test_convert_units_fixed_points_and_round_trips():
    assert convert_units(100, "C", "F") == 212
    assert convert_units(0, "C", "K") == 273.15
    assert convert_units(-40, "F", "C") == -40
    assert convert_units(1, "lb", "g") == 453.59237  # the pound's definition
    assert convert_units(1, "mi", "ft") == 5280
    there = convert_units(26.2, "mi", "km")
    assert math.isclose(convert_units(there, "km", "mi"), 26.2, abs_tol=1e-5)


def test_convert_units_refuses_mixed_quantities():
    with pytest.raises(ValueError, match="cannot convert kg to km"):
        convert_units(1, "kg", "km")
    result = ToolBox([convert_units]).execute(
        "c", "convert_units", '{"value": 1, "from_unit": "kg", "to_unit": "parsec"}'
    )
    assert result.error == "invalid arguments"  # the Literal keeps unknown units out

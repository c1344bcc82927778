"""Three offline tools for notebook 04: a calculator, a benchmark lookup, a unit converter.

Each is a plain typed function with a docstring, so ``utils.tools.tool_schema`` can describe
it to a model. ``Annotated[..., Field(...)]`` adds descriptions and constraints that are both
shown to the model and checked before the function runs.
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field

from utils.datasets import load_reported_benchmarks

# ── calculator ─────────────────────────────────────────────────────────────────────────
ARITHMETIC = r"^[0-9+\-*/(). ]{1,40}$"  # digits, + - * / ** ( ) . and spaces, at most 40
MAX_EXPONENT = 100  # 10 ** 100 is fine; 9 ** 9 ** 9 would hang the process
MAX_BITS = 4096  # refuse powers whose exact result would need more bits than this

_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _evaluate(node: ast.AST) -> Fraction | float:
    """The value of one node of a parsed arithmetic expression; anything else is refused."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(str(node.value))  # exact: 76.1 - 75.9 is 0.2, not 0.19999999999999574
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ZeroDivisionError("division by zero")
        return _OPERATORS[type(node.op)](left, right)
    raise ValueError(f"{type(node).__name__} is not allowed: only numbers, + - * / ** and ( )")


def _power(base: Fraction | float, exponent: Fraction | float) -> Fraction | float:
    """``base ** exponent``, refusing results too large to compute or not real numbers."""
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"exponent {exponent} is too large (at most {MAX_EXPONENT})")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError("0 cannot be raised to a negative power")
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        if isinstance(base, Fraction):
            size = max(base.numerator.bit_length(), base.denominator.bit_length())
            if size * abs(exponent) > MAX_BITS:
                raise ValueError("the result is too large to compute")
        return base**exponent
    if base < 0:
        raise ValueError("a negative number to a fractional power is not a real number")
    return float(base) ** float(exponent)  # a root: not exact, so a float


def safe_eval(expression: str) -> int | float:
    """Evaluate arithmetic without ``eval``: parse it, then allow only numbers and + - * / **."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"{expression!r} is not an arithmetic expression") from None
    value = _evaluate(tree)
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return value


def calculator(
    expression: Annotated[
        str,
        Field(
            description="Arithmetic with numbers and + - * / ** ( ), e.g. '(76.1 - 75.9) / 75.9 * 100'",
            pattern=ARITHMETIC,
        ),
    ],
) -> int | float:
    """Evaluate an arithmetic expression exactly. Use it for any calculation."""
    return safe_eval(expression)


# ── benchmark lookup ───────────────────────────────────────────────────────────────────
def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())  # "MMLU-Pro", "mmlu pro" → "mmlupro"


def lookup_benchmark(
    model: Annotated[
        str, Field(description="Model name, e.g. 'Qwen2.5-Max' or 'DeepSeek-V3'", max_length=30)
    ],
    benchmark: Annotated[
        str, Field(description="Benchmark name, e.g. 'MMLU-Pro' or 'Arena-Hard'", max_length=30)
    ],
) -> dict:
    """Look up a published score from the Qwen2.5-Max announcement's comparison of instruct models."""
    table = load_reported_benchmarks("instruct")
    rows = table[table["model"].map(_key) == _key(model)]
    if rows.empty:
        raise ValueError(
            f"unknown model {model!r}; known models: {', '.join(table['model'].unique())}"
        )
    row = rows[rows["benchmark"].map(_key) == _key(benchmark)]
    if row.empty:
        raise ValueError(
            f"no {benchmark!r} for {rows['model'].iloc[0]}; it has: {', '.join(rows['benchmark'])}"
        )
    record = row.iloc[0]
    found = {"model": record["model"], "benchmark": record["benchmark"]}
    if pd.isna(record["score"]):  # the blank stays blank
        return {**found, "score": None, "note": "no published figure was found; do not guess one"}
    return {**found, "score": float(record["score"])}


# ── unit converter ─────────────────────────────────────────────────────────────────────
Unit = Literal["mm", "cm", "m", "km", "in", "ft", "mi", "g", "kg", "oz", "lb", "C", "F", "K"]

_LENGTH_IN_METRES = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0,
                     "in": 0.0254, "ft": 0.3048, "mi": 1609.344}  # fmt: skip
_MASS_IN_KG = {"g": 0.001, "kg": 1.0, "oz": 0.028349523125, "lb": 0.45359237}
_TEMPERATURES = {"C", "F", "K"}


def _to_kelvin(value: float, unit: str) -> float:
    return {"K": value, "C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15}[unit]


def _from_kelvin(kelvin: float, unit: str) -> float:
    return {"K": kelvin, "C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32}[unit]


def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> float:
    """Convert a length, mass or temperature from one unit to another."""
    for table in (_LENGTH_IN_METRES, _MASS_IN_KG):
        if from_unit in table and to_unit in table:
            return round(value * table[from_unit] / table[to_unit], 6)
    if from_unit in _TEMPERATURES and to_unit in _TEMPERATURES:
        return round(_from_kelvin(_to_kelvin(value, from_unit), to_unit), 6)
    raise ValueError(f"cannot convert {from_unit} to {to_unit}: they measure different things")

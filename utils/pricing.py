"""Tokens to money: the price table in ``data/pricing.csv`` and the cost of a call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from utils.paths import data_dir


def load_prices() -> pd.DataFrame:
    """The price table, indexed by model id, with its source and date on every row."""
    return pd.read_csv(data_dir() / "pricing.csv", dtype={"source_date": str}).set_index("model")


def _tokens(usage: Any, field: str) -> int:
    value = usage.get(field) if isinstance(usage, Mapping) else getattr(usage, field, None)
    if value is None:
        raise ValueError(f"usage has no {field!r}; pass response.usage from a finished call")
    return int(value)


def cost_usd(usage: Any, price: Mapping[str, float]) -> float:
    """Dollars for one call: ``usage`` (``response.usage`` or a dict) at ``price`` (a table row)."""
    prompt = _tokens(usage, "prompt_tokens") * price["input_usd_per_million_tokens"]
    completion = _tokens(usage, "completion_tokens") * price["output_usd_per_million_tokens"]
    return (prompt + completion) / 1_000_000

"""Tokens to money: the prices in the model table (``data/models.csv``) and the cost of a call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from utils.model_table import load_models

PRICE_COLUMNS = [
    "provider",
    "input_usd_per_million_tokens",
    "output_usd_per_million_tokens",
    "batch_price_factor",
    "source",
    "source_date",
    "note",
]


def load_prices() -> pd.DataFrame:
    """Models with a checked price, indexed by model id, with its source and date on every row."""
    table = load_models().rename(
        columns={"price_source": "source", "price_source_date": "source_date"}
    )
    return table.loc[table.input_usd_per_million_tokens.notna(), PRICE_COLUMNS]


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

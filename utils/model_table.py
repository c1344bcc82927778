"""The model table, ``data/models.csv``: every model id the course knows, with its facts.

One row per id: context window, maximum output, requests and tokens per minute, price,
whether it offers log-probs, ``n > 1`` and strict JSON schemas, its status (``current``,
``legacy``, ``local``) with what to use instead, and where each number comes from with the
date it was checked. A blank cell means "not checked", never a guess.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from utils.paths import data_dir


def load_models() -> pd.DataFrame:
    """The model table, indexed by model id (blank cells are NaN)."""
    table = pd.read_csv(
        data_dir() / "models.csv",
        dtype={"limits_source_date": str, "price_source_date": str, "checked": str},
    )
    return table.set_index("model")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def model_info(model: str | None) -> dict[str, Any] | None:
    """``model``'s row as a dict (blank cells are None), or None if the table has no such id."""
    table = load_models()
    if model not in table.index:
        return None
    return {"model": model, **{k: _plain(v) for k, v in table.loc[model].items()}}


def rate_limits(model: str | None) -> tuple[int | None, int | None]:
    """Published (requests, tokens) per minute for ``model``; None where unknown or unlimited."""
    info = model_info(model) or {}
    return info.get("rpm"), info.get("tpm")

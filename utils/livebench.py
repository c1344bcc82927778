"""LiveBench's published per-task scores (``data/qwen25max_outputs/livebench``).

Two releases of LiveBench's question set, as its site publishes them
(LiveBench/livebench.github.io ``public/table_<release>.csv``): one row per model, one column
per task, each a score 0-100. ``categories_<release>.json`` groups the tasks into LiveBench's
six categories. LiveBench averages tasks within a category, then the categories into the
global average. The row ``qwen2.5-max`` is ``qwen-max-2025-01-25`` (LiveBench's
``model_configs/qwen.yml``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from utils.paths import data_dir

UPSTREAM = "LiveBench/livebench.github.io"
UPSTREAM_COMMIT = "4bf96c8d9dc9b06c17d82dc76a54429975c2b2c2"
RELEASES = ("2024_11_25", "2025_04_25")


def folder() -> Path:
    """Where the files are: ``data/qwen25max_outputs/livebench``."""
    return data_dir() / "qwen25max_outputs" / "livebench"


def _check(release: str) -> None:
    if release not in RELEASES:
        raise ValueError(f"no LiveBench table for {release!r}; the course has {RELEASES}")


def load_table(release: str = "2024_11_25") -> pd.DataFrame:
    """Per-task scores (0-100) by model: index ``model``, one column per task."""
    _check(release)
    return pd.read_csv(folder() / f"table_{release}.csv", index_col="model")


def load_categories(release: str = "2024_11_25") -> dict[str, list[str]]:
    """LiveBench's six categories and the tasks in each, for ``release``."""
    _check(release)
    return json.loads((folder() / f"categories_{release}.json").read_text(encoding="utf-8"))


def category_averages(table: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Mean task score per category, by model (NaN where a task score is missing)."""
    return pd.DataFrame(
        {name: table[tasks].mean(axis=1, skipna=False) for name, tasks in categories.items()}
    )


def global_average(by_category: pd.DataFrame) -> pd.Series:
    """LiveBench's global average: the mean of the category averages, by model."""
    return by_category.mean(axis=1, skipna=False).rename("global")

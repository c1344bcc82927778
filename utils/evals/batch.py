"""Batch-API files: the JSONL you upload (one request a line) and the results file you get back.

OpenAI and Model Studio use the same format. Model Studio's Batch API costs 50 % of a real-time
call and finishes within the 24-hour window; in the International (Singapore) region it takes
qwen-max among a few others (see BATCH_PAGE and MODEL_STUDIO_BATCH_MODELS). ``write_batch_file`` writes
the runner's requests as such a file; ``read_batch_output`` reads the output (or error) file
back by ``custom_id``: lines come back in any order, so never match results by position.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from utils.evals.runner import check_requests
from utils.optional_features import BATCH_PAGE  # noqa: F401 (re-exported)
from utils.settings import Settings

BATCH_ENDPOINT = "/v1/chat/completions"  # the endpoint path both Batch APIs expect in each line
# The models the Batch API takes in the International (Singapore) region, per BATCH_PAGE as
# read 2026-11: the English page's copies of Jan and Mar 2026 list these four; a later (Oct
# 2026, Spanish) copy lists qwen3.7-plus, qwen-max, qwen-plus and qwen-flash. qwen-max is in all.
MODEL_STUDIO_BATCH_MODELS = ("qwen-max", "qwen-plus", "qwen-flash", "qwen-turbo")


def write_batch_file(requests: Sequence[dict], path: str | Path) -> Path:
    """Write ``requests`` as Batch-API input lines; ``custom_id`` is ``request-<index>``."""
    check_requests(requests)
    path = Path(path)
    with open(path, "w", encoding="utf-8") as handle:
        for index, request in enumerate(requests):
            line = {"custom_id": f"request-{index}", "method": "POST", "url": BATCH_ENDPOINT,
                    "body": request}  # fmt: skip
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def read_batch_output(path: str | Path) -> dict[str, dict | None]:
    """A Batch-API output file as ``{custom_id: response body}`` (``None`` for failed lines)."""
    results = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            response = row.get("response") or {}
            ok = response.get("status_code") == 200 and not row.get("error")
            results[row["custom_id"]] = response.get("body") if ok else None
    return results


def batch_model(settings: Settings) -> tuple[str, str]:
    """The model to name in a batch file for these settings, and one line saying why."""
    model = settings.model or ""
    if settings.provider != "dashscope" or model in MODEL_STUDIO_BATCH_MODELS:
        return model, f"{model}: the model these settings use"
    if model.startswith("qwen-max"):
        return "qwen-max", (
            f"qwen-max, not {model}: Model Studio's Batch API lists the stable alias qwen-max "
            "(not dated snapshots); check on the Models page which snapshot it serves"
        )
    return model, f"{model}: not among the Batch API's listed models ({BATCH_PAGE})"

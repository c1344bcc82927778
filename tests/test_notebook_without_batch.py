"""Notebook 05 on an endpoint without a Batch API: every cell runs, the Batch cells explain why.

The Model Studio stand-in with ``batch=False`` answers ``/files`` and ``/batches`` with 404, as
a region, workspace or proxy without the Batch API does (issue 27). The answers do not matter
here (the stand-in run, ``make test``, runs 05 on the local model): a scripted backend answers
every question at once, and the rate limits keep a ×10 test clock (``utils.request_pacing``),
so the 140 questions the key path asks take 14 s, not 140 s.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.model_studio_standin import ModelStudioStandIn
from utils.loopback.scripted import completion, scripted_servers
from utils.request_pacing import CLOCK_SPEED

ROOT = Path(__file__).resolve().parent.parent
SPEED = 10  # a rate-limit minute lasts 6 s


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


@pytest.mark.slow  # a whole lesson in a kernel: `make test` runs it, `make check` not
def test_notebook_05_runs_without_files_and_batches(monkeypatch):
    path = ROOT / "notebooks" / "05_multiple_choice.ipynb"
    notebook = nbformat.read(path, as_version=4)
    with (
        scripted_servers() as make,
        ModelStudioStandIn(
            make(lambda body: (200, completion("The answer is (A)."))).base_url,
            "scripted",
            batch=False,
            clock_speed=SPEED,
        ) as standin,
    ):
        monkeypatch.setenv(CLOCK_SPEED, str(SPEED))
        monkeypatch.setenv("COOKBOOK_PROVIDER", "dashscope")
        monkeypatch.setenv("DASHSCOPE_API_KEY", standin.api_key)
        monkeypatch.setenv("DASHSCOPE_BASE_URL", standin.base_url)
        client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
        client.execute()  # raises CellExecutionError if any cell fails
        refused = {key: n for key, n in standin.refusals.items() if key[0] == 404}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [o for cell in code for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors
    upload = next(cell for cell in code if 'optional_feature("batch")' in cell.source)
    line = _stdout(upload).strip()
    assert line.startswith("This endpoint does not offer the Batch API") and "404" in line
    assert "\n" not in line and "LocalBatchAPI" in line  # one line: what, where, the local path
    results = next(cell for cell in code if "no batch results to read" in cell.source)
    assert "no batch results to read: This endpoint does not offer the Batch API" in _stdout(
        results
    )
    assert refused  # the stand-in really refused the upload
    assert len(standin.requests) > 140  # the key path asked all 140 questions
    # paced: at most one 429 per minute boundary of the 140 (the pacer sends the 61st request
    # exactly a minute after the first, and a sliding window refuses it when the first was
    # the slower to arrive; the runner retries it)
    limited = sum(n for (status, _), n in standin.refusals.items() if status == 429)
    assert limited <= 2, standin.refusals
    assert standin.api_key not in "".join(_stdout(cell) for cell in code)

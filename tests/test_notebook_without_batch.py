"""Notebook 05 on an endpoint without a Batch API: every cell runs, the Batch cells explain why.

The Model Studio stand-in with ``batch=False`` answers ``/files`` and ``/batches`` with 404, as
a region, workspace or proxy without the Batch API does (issue 27). Slow: the key path asks all
140 questions at the snapshot's 60 requests a minute.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.model_studio_standin import ModelStudioStandIn
from utils import local_model

ROOT = Path(__file__).resolve().parent.parent


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def test_notebook_05_runs_without_files_and_batches(local_settings, monkeypatch):
    path = ROOT / "notebooks" / "05_multiple_choice.ipynb"
    notebook = nbformat.read(path, as_version=4)
    alias = local_model.selected().alias
    with ModelStudioStandIn(local_settings.base_url, alias, batch=False) as standin:
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
    assert standin.api_key not in "".join(_stdout(cell) for cell in code)

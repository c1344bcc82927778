"""The progress line: its text, and a saved notebook keeps the final state, not "0%"."""

import nbformat
from nbclient import NotebookClient

from utils.progress import Progress, progress_text


def test_progress_text_draws_the_share_and_the_counts():
    assert (
        progress_text("requests", 0, 4, 0.0) == "requests:   0% |····················| 0/4 in 0.0 s"
    )
    done = progress_text("requests", 4, 4, 2.25)
    assert done.startswith("requests: 100% |████████████████████|") and "4/4 in 2.2 s" in done
    assert "50%" in progress_text("x", 21, 42, 1.0) and "0/0" in progress_text("x", 0, 0, 0.0)


def test_outside_a_notebook_it_prints_one_final_line(capsys):
    with Progress(3, "items") as bar:
        for _ in range(3):
            bar.update()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "3/3" in err[0] and "100%" in err[0]
    with Progress(3, "quiet", enabled=False) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_a_saved_notebook_keeps_the_final_line(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import time\nfrom utils.progress import Progress\n"
        "with Progress(5, 'requests', min_interval=0.0) as bar:\n"
        "    for _ in range(5):\n        time.sleep(0.01)\n        bar.update()\n"
        "print('after')"
    )]  # fmt: skip
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    texts = ["".join(o.get("data", {}).get("text/plain", "") or o.get("text", ""))
             for o in notebook.cells[0].outputs]  # fmt: skip
    assert any("5/5" in t and "100%" in t for t in texts), texts
    assert not any(" 0%" in t for t in texts) and not any(
        "widget-view" in k for o in notebook.cells[0].outputs for k in o.get("data", {})
    )

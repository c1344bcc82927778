"""The stand-in plugin: notebooks take the DashScope path, and a cell that shows the key fails."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.standin_plugin import leaked

ROOT = Path(__file__).resolve().parent.parent


def test_leaked_finds_the_key_or_its_secret_part():
    key = "sk-" + "ab12" * 8
    assert leaked([{"text": f"key={key}"}], key)
    assert leaked([{"data": {"text/plain": key.removeprefix("sk-")}}], key)
    assert not leaked([{"text": "<hidden, 35 characters>"}], key)
    assert not leaked(None, key)


def test_a_notebook_runs_on_the_standin_and_a_cell_showing_the_key_fails(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from utils import describe_backend, get_client, load_settings\n"
            "settings = load_settings()\n"
            "assert settings.provider == 'dashscope' and settings.model == 'qwen-max-2025-01-25'\n"
            "answer = get_client(settings).chat.completions.create(\n"
            "    model=settings.model, messages=[{'role': 'user', 'content': 'Hi'}], max_tokens=2)\n"
            "assert answer.model == settings.model\n"
            "print(describe_backend(settings))"
        ),
        nbformat.v4.new_code_cell("print(settings.api_key.reveal())"),
    ]
    path = tmp_path / "leak.ipynb"
    nbformat.write(notebook, path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "tests.standin_plugin",
            "--model-studio-standin", "--nbval-lax", "--nbval-current-env", str(path),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 failed, 1 passed" in out and "DASHSCOPE_API_KEY appears in this cell's output" in out
    assert "chat requests answered: {'qwen-max-2025-01-25': 1}" in out

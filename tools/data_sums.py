"""Rewrite ``data/SHA256SUMS`` from the files it lists (dropping any that are gone).

    python -m tools.data_sums            # after changing a data file on purpose
    python -m tools.data_sums --add PATH  # list a new file too (a path inside data/)

``make preflight`` and the tests compare the data files with these sums.
"""

from __future__ import annotations

import argparse
import hashlib

from utils.paths import data_dir


def rewrite(add: list[str]) -> list[str]:
    """Recompute every listed file's sum; returns the paths listed afterwards."""
    sums = data_dir() / "SHA256SUMS"
    paths: list[str] = []
    for line in sums.read_text().splitlines() + [f"- {p}" for p in add]:
        path = line.split(maxsplit=1)[1]
        if path not in paths and (data_dir() / path).is_file():
            paths.append(path)
    digest = {p: hashlib.sha256((data_dir() / p).read_bytes()).hexdigest() for p in paths}
    sums.write_text("".join(f"{digest[p]}  {p}\n" for p in paths))
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--add", nargs="*", default=[], help="new files to list")
    print(f"{len(rewrite(parser.parse_args().add))} files listed in data/SHA256SUMS")

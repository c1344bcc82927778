"""Report the versions of the packages a notebook uses."""

from __future__ import annotations

import platform
from importlib import metadata


def package_versions(names: list[str]) -> dict[str, str]:
    """Installed version of each distribution in ``names`` ("not installed" if absent)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def print_versions(names: list[str]) -> None:
    """Print ``package_versions(names)`` as aligned lines."""
    versions = package_versions(names)
    width = max(map(len, versions))
    for name, version in versions.items():
        print(f"{name:<{width}}  {version}")

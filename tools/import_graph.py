"""Count the project's own modules, the imports between them, and the import cycles.

    python -m tools.import_graph            # utils, tools, tests and benchmarks
    python -m tools.import_graph utils      # one package

First-party only: an edge is one module of these folders importing another of them (anywhere
in the file, so imports inside functions count). A package's ``__init__`` importing its own
modules (a re-export) is not counted as an edge, so it cannot make a cycle. A cycle is a
strongly connected group of two or more modules, each reachable from the others.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("utils", "tools", "tests", "benchmarks")


def module_names(packages=PACKAGES, root: Path = ROOT) -> dict[str, Path]:
    """Every module of ``packages``: dotted name (a package by its own name) → file."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement may refer to (modules or their attributes)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" for alias in node.names]  # a module, or base's attribute


def import_graph(packages=PACKAGES, root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the first-party modules it imports (without re-exports of its own modules)."""
    modules = module_names(packages, root)
    graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, module, is_package):
                while name and name not in modules:  # utils.x.function → utils.x
                    name = name.rpartition(".")[0]
                if name and name != module and not name.startswith(module + "."):
                    targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(PACKAGES))
    args = parser.parse_args(argv)
    graph = import_graph(args.packages, root)
    found = cycles(graph)
    edges = sum(len(targets) for targets in graph.values())
    print(f"{', '.join(args.packages)}: {len(graph)} modules, {edges} import edges, "
          f"{len(found)} import cycles")  # fmt: skip
    for group in found:
        print("  cycle: " + " ↔ ".join(group))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

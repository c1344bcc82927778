"""tools.import_graph: first-party modules, their import edges and the cycles among them."""

from tools import import_graph


def _tree(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_edges_resolve_to_modules_and_a_cycle_is_found(tmp_path):
    _tree(tmp_path, {
        "pkg/__init__.py": "from pkg.a import f\n",  # a re-export: no edge, so no cycle
        "pkg/a.py": "import json\nfrom pkg import b\n\ndef f():\n    from pkg.c import g\n",
        "pkg/b.py": "from pkg.c import g\n",
        "pkg/c.py": "from . import a\nfrom pkg import g_missing\n",
    })  # fmt: skip
    graph = import_graph.import_graph(("pkg",), tmp_path)
    assert graph == {
        "pkg": set(),
        "pkg.a": {"pkg.b", "pkg.c"},  # the import inside a function counts; json is not ours
        "pkg.b": {"pkg.c"},
        "pkg.c": {"pkg.a", "pkg"},  # relative; a missing name resolves to its module
    }
    assert import_graph.cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert import_graph.main(["pkg"], tmp_path) == 1  # a cycle fails the command


def test_the_project_has_no_import_cycles(capsys):
    assert import_graph.main([]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(", 0 import cycles")

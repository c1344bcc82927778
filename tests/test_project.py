"""The project's promises: README's commands, one environment, notebooks clean, lint clean."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

from tools import course
from tools.course import COLAB_MARK

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def _requirements(lines) -> set[str]:
    return {str(Requirement(line)) for line in lines}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirements(
        project["dependencies"]
        + project["optional-dependencies"]["local"]
        + project["optional-dependencies"]["lab"]
    )
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert _requirements(pip_section) == wanted


def test_readme_gives_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    start = readme.split("## Start", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in re.findall(r"```bash\n(.*?)```", start, re.DOTALL)]
    assert [c.split("#")[0].strip() for c in commands] == ["make lab", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, re.MULTILINE)
    assert re.search(r"^test: setup-test$", makefile, re.MULTILINE)


def test_make_test_runs_every_lesson_twice_and_the_solutions_once():
    """The first run takes pyproject's testpaths (tests and all of notebooks/); the stand-in
    run takes the lessons and leaves out only the solutions (issue 22: solutions once)."""
    recipe = (ROOT / "Makefile").read_text().split("\ntest: setup-test\n", 1)[1]
    recipe = recipe.split("\n\n", 1)[0].replace("\\\n", " ")
    first, standin = [line.split() for line in recipe.splitlines()]
    args = first[first.index("pytest") + 1 :]
    assert "-p randomly" in " ".join(args)  # shuffled (issue 28)
    assert [a for a in args if not a.startswith("-")] == ["randomly"]  # no paths: the testpaths
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert options["ini_options"]["testpaths"] == ["tests", "notebooks"]
    assert "--model-studio-standin" in standin and standin[-1] == "notebooks"
    assert [a for a in standin if a.startswith("--ignore")] == ["--ignore=notebooks/solutions"]


def test_generated_parts_are_up_to_date():
    assert course.out_of_date() == [], "run: python -m tools.course sync"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run it top to bottom: make notebooks"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error output: {errors[0].get('ename')}"
    assert path.stat().st_size < 1_000_000
    assert code[0].source.startswith(COLAB_MARK)
    assert "sys.path" not in "".join(c.source for c in code)


@pytest.mark.parametrize("path", course.notebook_paths(), ids=lambda p: p.name)
def test_lesson_has_goals_time_exercises_and_a_solution(path):
    notebook = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    course.notebook_info(path)  # title, time and summary are present
    assert "**Learning goals**" in markdown
    assert len(re.findall(r"^### Exercise \d", markdown, re.MULTILINE)) >= 2
    assert (ROOT / "notebooks" / "solutions" / f"{path.stem}_solutions.ipynb").exists()
    # Long cells were split into short ones with prose between (the learner's read), so the
    # count allows a few more cells than the old 45; a lesson past 52 holds two concepts.
    assert len(notebook.cells) <= 52, "one concept per notebook: split it"


def dollar_amounts(markdown: str) -> list[str]:
    """Dollar amounts JupyterLab would typeset as maths: ``$5`` outside code and formulas."""
    text = re.sub(r"(`+)[^`]*?\1", "", markdown)  # code spans are never typeset
    found = []
    for match in re.finditer(r"\$\$.+?\$\$|\$([^$]*)\$|\$", text, re.DOTALL):
        body = match.group(1)
        if body is None:  # a lone "$": an amount if a digit follows
            if re.match(r"\$\s?\d", text[match.start() :]):
                found.append(text[match.start() : match.start() + 8])
        elif (
            re.match(r"\s?\d", body)
            and re.search(r"\s", body)
            and not re.search(r"[\\^_={}<>]", body)
        ):
            found.append(match.group(0)[:20])  # "$5 and $": prose between two amounts
    return found


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("costs $5 per million", 1),
        ("between $5 and $10 a month", 1),
        ("a tip of `$71` in code", 0),
        ("solve $1.96\\sqrt{p(1-p)/n} \\le h$ for $n$", 0),
        ("the term is $1.2A$, with $A<0$", 0),
        ("USD 1.60 per million tokens", 0),
    ],
)
def test_dollar_amount_finder(markdown, expected):
    assert len(dollar_amounts(markdown)) == expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_dollar_amounts_do_not_render_as_maths(path):
    """JupyterLab typesets text between two "$" as LaTeX (even escaped as \\$): write USD 1.60."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            amounts = dollar_amounts(cell.source)
            assert not amounts, (
                f"write amounts as 'USD 1.60' or in `code`: {amounts} in {cell.source[:80]!r}"
            )


def _relative_links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'href="([^"]+)"', text)
    return [link for link in links if not re.match(r"^(https?:|mailto:|#)", link)]


@pytest.mark.parametrize("path", [ROOT / "README.md", *NOTEBOOKS], ids=lambda p: p.name)
def test_relative_links_resolve(path):
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    for link in _relative_links(text):
        target = (path.parent / link.split("#")[0]).resolve()
        assert target.exists(), f"{path.name}: broken link {link}"


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_utils_module_has_a_docstring():
    for path in (ROOT / "utils").rglob("*.py"):
        source = path.read_text()
        if source.strip():
            assert re.match(r'\s*"""', source), f"{path.relative_to(ROOT)} has no module docstring"


def test_notebook_metadata_is_plain_json():
    for path in NOTEBOOKS:
        json.loads(path.read_text())  # no merge-conflict markers or truncation


def test_the_import_contracts_are_kept():
    """The layers of utils/ and no import cycles: pyproject.toml's [tool.importlinter]."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout

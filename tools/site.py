"""The course as a website: Sphinx + MyST-NB over the committed notebooks (``make site``).

The configuration is ``docs/site/conf.py``; this module holds what it plugs into Sphinx:

* the pages and their order, found by name (``notebooks/NN_*.ipynb`` in order, solutions
  apart, then the guides), so a new lesson joins the site by being committed;
* every notebook rewritten for the web as it is read (``tools/site_notebook.py``), README's
  badges as plain launch links (badge images would come from the internet);
* README (the home page) at ``index.html``, and MathJax from a wheel instead of a CDN;
* the lessons end at the last lesson: its "next" link does not lead into Solutions 00, nor
  does Solutions 00's "previous" lead back into the lessons.

    python -m tools.site [OUTDIR]   # build into OUTDIR (default _build/html); warnings fail it
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tools import course, site_notebook
from utils.paths import repo_root

BUILD_DIR = "_build/html"
GUIDES = {  # page -> its title in the navigation
    "docs/workshop.md": "Running a workshop",
    "tests/README.md": "How the course is tested",
    "docs/architecture.md": "How the code is laid out",
    "data/README.md": "Data and its provenance",
}


def unpublished_note() -> str:
    """The banner on every page: the launch links lead nowhere until the course is published."""
    return (
        "Not published yet: the Colab, Binder, Codespaces and GitHub links point at "
        f"{course.repository_url()} (named in pyproject.toml), which does not exist until the "
        "course is published there."
    )


def solution_paths() -> list[Path]:
    """The solutions notebooks, in course order."""
    return sorted((repo_root() / "notebooks" / "solutions").glob("[0-9][0-9]_*_solutions.ipynb"))


def pages() -> list[str]:
    """Every page of the site after the home page, relative to the repository root."""
    paths = course.notebook_paths() + solution_paths()
    return [p.relative_to(repo_root()).as_posix() for p in paths] + list(GUIDES)


def _docname(path: Path) -> str:
    return path.relative_to(repo_root()).with_suffix("").as_posix()


def section_ends() -> dict[str, str]:
    """Page -> the link ("next" or "prev") that would cross from the lessons into the solutions."""
    return {_docname(course.notebook_paths()[-1]): "next", _docname(solution_paths()[0]): "prev"}


def _page_context(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    link = section_ends().get(pagename)
    if link:
        context[link] = None  # the theme's prev-next bar then leaves that side empty


def _toctree(caption: str, entries: list[str]) -> str:
    lines = "\n".join(entries)
    return f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{lines}\n```\n"


def launch_markdown() -> str:
    """README's launch badges as text links (no images fetched from badge services)."""
    first = course.notebook_paths()[0]
    links = " · ".join(f"[{name}]({url})" for name, url in course.launch_urls(first).items())
    note = "" if course.published() else " (not published yet: see the note at the top)"
    return f"**Start the first lesson:** {links}{note}"


def home_markdown(readme: str) -> str:
    """README.md as the home page: launch links instead of badges, and the site's contents."""
    readme = course.replace_block(
        readme, course.README_BADGES_START, course.README_BADGES_END, launch_markdown()
    )

    guides = [f"{title} <{page.removesuffix('.md')}>" for page, title in GUIDES.items()]
    return (
        readme
        + _toctree("Lessons", [_docname(p) for p in course.notebook_paths()])
        + _toctree("Solutions", [_docname(p) for p in solution_paths()])
        + _toctree("Guides", guides)
    )


def folder_links(markdown: str, page: Path) -> str:
    """Links to folders of the repository (no page on the site) pointed at the repository."""

    def link(match: re.Match) -> str:
        target = match.group(1)
        folder = (page.parent / target).resolve()
        if re.match(r"^[a-z]+:|#", target) or not folder.is_dir():
            return match.group(0)
        relative = folder.relative_to(repo_root()).as_posix()
        return f"]({course.repository_url()}/tree/main/{relative})"

    return re.sub(r"\]\(([^)\s]+)\)", link, markdown)


def _source_read(app, docname: str, source: list[str]) -> None:
    if docname == "README":
        source[0] = folder_links(home_markdown(source[0]), repo_root() / "README.md")
    elif not docname.startswith("notebooks/"):
        source[0] = folder_links(source[0], repo_root() / f"{docname}.md")
    else:
        path = repo_root() / f"{docname}.ipynb"
        notebook = site_notebook.for_site(json.loads(source[0]), path)
        source[0] = json.dumps(notebook)


def _mathjax_dir() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")  # its folder name has dashes
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("sphinx-mathjax-offline is missing: run `make site`")
    return Path(spec.origin).parent / "static" / "mathjax"


def _finish(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    # MathJax's TeX-to-HTML bundle and the components it loads (not the other bundles).
    source, target = _mathjax_dir(), out / "_static" / "mathjax"
    for item in source.iterdir():
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
    shutil.copy2(source / "tex-chtml.js", target / "tex-chtml.js")
    # The home page is README.html; a web server looks for index.html.
    (out / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<title>qwen-max-cookbook</title><meta http-equiv="refresh" content="0; url=README.html">'
        '</head><body><a href="README.html">The course</a></body></html>\n',
        encoding="utf-8",
    )


def setup(app) -> dict:
    """Sphinx extension entry point (``docs/site/conf.py`` lists ``tools.site``)."""
    app.config.mathjax_path = "mathjax/tex-chtml.js"
    app.connect("source-read", _source_read)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def sphinx_command(outdir: Path | str = BUILD_DIR) -> list[str]:
    """The build command: HTML from scratch, warnings as errors, nitpicky cross-references."""
    root, outdir = repo_root(), Path(outdir)
    return [
        sys.executable, "-m", "sphinx", "-b", "html", "-E", "-W", "--keep-going", "-n", "-q",
        "-c", str(root / "docs" / "site"), "-d", str(outdir.parent / "doctrees"),
        str(root), str(outdir),
    ]  # fmt: skip


def build(outdir: Path | str = BUILD_DIR) -> None:
    """Build the site into ``outdir`` (relative to the repository root); raise if it warns."""
    subprocess.run(sphinx_command(outdir), cwd=repo_root(), check=True)


if __name__ == "__main__":
    outdir = (sys.argv[1:2] or [BUILD_DIR])[0]
    build(outdir)
    print(f"Built the site in {outdir}; to read it: python3 -m http.server -d {outdir}")

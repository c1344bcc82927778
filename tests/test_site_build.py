"""The website's build (tools/site.py, tools/site_notebook.py) and every launch path's set-up.

The browser test of the built site is tests/test_site.py.
"""

import json
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools import course, site, site_notebook
from tools.site_notebook import WIDGET_STATE, WIDGET_VIEW

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "docs" / "site" / "conf.py"


def _model(name: str, **state) -> dict:
    return {"model_name": name, "state": state}


def _widget_notebook(models: dict, top: str) -> dict:
    output = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            WIDGET_VIEW: {"model_id": top, "version_major": 2, "version_minor": 0},
            "text/plain": "requests:   0%|          | 0/42 [00:00<?, ?it/s]",
        },
    }
    return {
        "cells": [{"cell_type": "code", "source": "", "outputs": [output], "metadata": {}}],
        "metadata": {"widgets": {WIDGET_STATE: {"state": models}}},
    }


TQDM = {  # what tqdm.auto leaves in a notebook: label, bar and counts in an HBox
    "box": _model("HBoxModel", children=["IPY_MODEL_label", "IPY_MODEL_bar", "IPY_MODEL_count"]),
    "label": _model("HTMLModel", value="requests:\u2007100%"),
    "bar": _model("FloatProgressModel", value=42.0, max=42.0, bar_style="success"),
    "count": _model("HTMLModel", value="\u200742/42\u2007[01:09&lt;00:00,\u20071.25s/it]"),
}


def test_a_progress_bar_is_drawn_at_its_final_state_without_widget_javascript():
    notebook = site_notebook.render_widgets(_widget_notebook(TQDM, "box"))
    data = notebook["cells"][0]["outputs"][0]["data"]
    assert WIDGET_VIEW not in data and "widgets" not in notebook["metadata"]
    assert (
        '<progress class="site-widget" max="42.0" value="42.0">100%</progress>' in data["text/html"]
    )
    assert (
        data["text/plain"]
        == "requests:\u2007100%|██████████|\u200742/42\u2007[01:09<00:00,\u20071.25s/it]"
    )
    assert site_notebook.STATIC_NOTE not in data["text/html"]  # nothing to click


def test_a_half_done_bar_and_controls_are_drawn_as_saved():
    models = dict(TQDM, bar=_model("IntProgressModel", value=5, max=10))
    models["box"] = _model(
        "VBoxModel", children=["IPY_MODEL_bar", "IPY_MODEL_send", "IPY_MODEL_text"]
    )
    models["send"] = _model("ButtonModel", description="Send")
    models["text"] = _model("TextareaModel", value="<b>hi</b>", description="System")
    data = site_notebook.render_widgets(_widget_notebook(models, "box"))["cells"][0]["outputs"][0][
        "data"
    ]
    assert 'max="10" value="5">50%</progress>' in data["text/html"]
    assert "<button" in data["text/html"] and "disabled>Send</button>" in data["text/html"]
    assert "&lt;b&gt;hi&lt;/b&gt;</textarea>" in data["text/html"]  # typed text is escaped
    assert site_notebook.STATIC_NOTE in data["text/html"]


def test_an_unknown_widget_keeps_its_text():
    models = {"box": _model("ColorPickerModel", value="#fff")}
    data = site_notebook.render_widgets(_widget_notebook(models, "box"))["cells"][0]["outputs"][0][
        "data"
    ]
    assert WIDGET_VIEW not in data and "text/html" not in data
    assert data["text/plain"].startswith("requests:")


def test_the_committed_widgets_are_all_drawn():
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if "widgets" not in notebook["metadata"]:
            continue
        shown = site_notebook.for_site(notebook, path)
        outputs = [o for c in shown["cells"] for o in c.get("outputs", [])]
        assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs), path.name
        for output in outputs:
            text = str(output.get("data", {}).get("text/plain", ""))
            assert not re.search(r"(?<![\d.])0%\|", text), (path.name, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'File "/root/.pyenv/versions/3.11.7/lib/socket.py"',
            'File "~/.pyenv/versions/3.11.7/lib/socket.py"',
        ),
        ("log: /home/alice/.cache/x.log", "log: ~/.cache/x.log"),
        ("/Users/bob/course", "~/course"),
        (
            "see https://example.org/root/page and /srv/home/x",
            "see https://example.org/root/page and /srv/home/x",
        ),
        ("C:\\Users\\bob\\course", "~\\course"),
        (
            "/tmp/tmp4nqyp1lo/precious.txt and /rooted/x",
            "/tmp/tmp4nqyp1lo/precious.txt and /rooted/x",
        ),
    ],
)
def test_home_folders_are_redacted(text, expected):
    assert site_notebook.redact_home(text) == expected


def test_outputs_are_redacted_but_images_and_code_are_not():
    path = course.notebook_paths()[0]
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = next(c for c in notebook["cells"][2:] if c["cell_type"] == "code")
    code["source"] = "print('/root/x')"
    code["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["/root/.cache/a\n"]},
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": "/root/AAAA"}},
    ]
    site_notebook.for_site(notebook, path)
    assert code["outputs"][0]["text"] == ["~/.cache/a\n"]
    assert code["outputs"][1]["data"]["image/png"] == "/root/AAAA"
    assert code["source"] == "print('/root/x')"


def test_a_lesson_page_has_no_badges_and_a_header_with_goals_times_and_launch_links():
    path = ROOT / "notebooks" / "05_multiple_choice.ipynb"
    shown = site_notebook.for_site(json.loads(path.read_text(encoding="utf-8")), path)
    sources = ["".join(c["source"]) for c in shown["cells"]]
    assert not any(course.BADGES_MARK in s for s in sources)
    title = next(s for s in sources if s.startswith("# "))
    heading, header = title.split("\n", 1)
    assert heading == "# " + course.notebook_info(path).title
    info = course.notebook_info(path)
    for fact in [info.summary, f"~{info.minutes} min", course.format_run(info.run_seconds)]:
        assert fact in header.split("**Learning goals**")[0]
    for url in course.launch_urls(path).values():
        assert f"({url})" in header
    assert "(solutions/05_multiple_choice_solutions.ipynb)" in header
    assert "**Learning goals**" in header  # the lesson's own goals follow the header


def test_a_solutions_page_has_launch_links_but_no_lesson_facts():
    path = site.solution_paths()[0]
    header = site_notebook.header_markdown(path)
    assert "What you learn" not in header and course.colab_url(path) in header


@pytest.fixture
def repo_copy(repo_copy, monkeypatch):
    """tests/conftest.py's scratch copy of the course, with the site pointed at it too."""
    monkeypatch.setattr(site, "repo_root", lambda: repo_copy)
    return repo_copy


def test_a_new_lesson_joins_the_site_by_its_numbered_name(repo_copy):
    last = sorted((repo_copy / "notebooks").glob("[0-9][0-9]_*.ipynb"))[-1]
    shutil.copy(last, repo_copy / "notebooks" / "99_next.ipynb")
    assert "notebooks/99_next.ipynb" in site.pages()
    home = site.home_markdown((repo_copy / "README.md").read_text())
    lessons = home.split(":caption: Lessons")[1].split("```")[0].split()
    assert lessons[-2:] == [f"notebooks/{last.stem}", "notebooks/99_next"]
    assert lessons == sorted(lessons) and len(lessons) == len(course.notebook_paths())


def _links_after(pagename: str) -> dict:
    context = {"prev": {"link": "before.html"}, "next": {"link": "after.html"}}
    site._page_context(None, pagename, "page.html", context, None)
    return context


def test_the_lessons_end_at_the_last_lesson_not_in_solutions_00(repo_copy):
    lessons, solutions = course.notebook_paths(), site.solution_paths()
    last_lesson = lessons[-1].relative_to(repo_copy).with_suffix("").as_posix()
    first_solution = solutions[0].relative_to(repo_copy).with_suffix("").as_posix()
    assert _links_after(last_lesson) == {"prev": {"link": "before.html"}, "next": None}
    assert _links_after(first_solution) == {"prev": None, "next": {"link": "after.html"}}
    for path in lessons[:-1] + solutions[1:]:  # every other page keeps both links
        name = path.relative_to(repo_copy).with_suffix("").as_posix()
        assert _links_after(name)["prev"] and _links_after(name)["next"], name
    shutil.copy(lessons[-1], repo_copy / "notebooks" / "99_next.ipynb")  # a new last lesson
    assert _links_after(last_lesson)["next"] == {"link": "after.html"}
    assert _links_after("notebooks/99_next")["next"] is None


def test_every_launch_link_is_built_from_the_one_setting(repo_copy):
    pyproject = repo_copy / "pyproject.toml"
    original = course.repository()
    pyproject.write_text(pyproject.read_text().replace(original, "someone/fork"))
    lesson = course.notebook_paths()[3]
    config = runpy.run_path(str(CONF))
    built = {
        "colab badge and site button": course.colab_url(lesson),
        "binder badge and site button": course.binder_url(lesson),
        "codespaces (devcontainer)": course.codespaces_url(),
        "README badges": course.readme_badges(),
        "site home page": site.launch_markdown(),
        "site lesson header": site_notebook.header_markdown(lesson),
        "site banner": config["html_theme_options"]["announcement"],
        "site theme buttons": config["html_theme_options"]["repository_url"],
    }
    for where, text in built.items():
        assert "someone/fork" in text and original not in text, where
    assert config["html_theme_options"]["launch_buttons"]["colab_url"]  # the theme's buttons are on


def test_the_not_yet_published_note_goes_once_the_course_is_published(repo_copy):
    assert not course.published()  # until then every page says the links lead nowhere
    assert (
        course.repository_url() in runpy.run_path(str(CONF))["html_theme_options"]["announcement"]
    )
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("published = false", "published = true"))
    assert course.published()
    assert runpy.run_path(str(CONF))["html_theme_options"]["announcement"] == ""
    assert "not published" not in site.launch_markdown()


def test_links_to_folders_point_at_the_repository():
    readme = ROOT / "README.md"
    text = "[a](benchmarks/) [b](notebooks/00_setup.ipynb) [c](https://example.org/) [d](#start)"
    assert site.folder_links(text, readme) == (
        f"[a]({course.repository_url()}/tree/main/benchmarks) [b](notebooks/00_setup.ipynb) "
        "[c](https://example.org/) [d](#start)"
    )


def _tiny_notebook(path: Path, title: str) -> None:
    """A lesson-shaped notebook: badges, a title with goals and time, the Colab cell."""
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(course.BADGES_MARK),
            nbformat.v4.new_markdown_cell(
                f"# {title}\n\n**Learning goals**\n- one\n\n**Time:** ~5 min"
            ),
            nbformat.v4.new_code_cell(course.colab_cell_source()),
        ],
        metadata={
            "cookbook": {"summary": "A tiny lesson.", "run_seconds": 1.0},
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def _small_course(tmp_path: Path, readme_extra: str) -> Path:
    """A course with one tiny lesson, its solution and stub guides, built with this site's code."""
    for folder in ("tools", "utils", "docs/site"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    _tiny_notebook(tmp_path / "notebooks" / "00_tiny.ipynb", "00 · Tiny")
    _tiny_notebook(
        tmp_path / "notebooks" / "solutions" / "00_tiny_solutions.ipynb", "Solutions · 00"
    )
    for guide in site.GUIDES:
        (tmp_path / guide).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / guide).write_text(f"# {guide}\n")
    (tmp_path / "README.md").write_text(
        f"# A course\n\n{course.README_BADGES_START}\n{course.README_BADGES_END}\n\n"
        f"Start with [lesson 00](notebooks/00_tiny.ipynb).\n{readme_extra}"
    )
    return tmp_path


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "broken"])
def test_the_build_fails_on_a_broken_link_or_a_missing_image(tmp_path, broken):
    extra = "A [broken link](notebooks/99_gone.ipynb).\n\n![a plot](missing_plot.png)\n"
    course_dir = _small_course(tmp_path / "course", extra if broken else "")
    command = site.sphinx_command(tmp_path / "out" / "html")
    command[command.index("-c") + 1] = str(course_dir / "docs" / "site")
    command[-2] = str(course_dir)
    result = subprocess.run(command, cwd=course_dir, capture_output=True, text=True, timeout=300)
    if broken:
        assert result.returncode != 0, result.stderr
        assert "99_gone" in result.stderr and "missing_plot.png" in result.stderr, result.stderr
    else:
        assert result.returncode == 0, result.stderr
        page = (tmp_path / "out" / "html" / "notebooks" / "00_tiny.html").read_text()
        assert "A tiny lesson." in page and "~5 min" in page


def test_devcontainer_sets_up_the_course_and_starts_the_local_model():
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert config["postCreateCommand"] == "make setup"
    assert config["postStartCommand"] == ".venv/bin/python -m utils.local_server start"
    assert "\nsetup: " in (ROOT / "Makefile").read_text()
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(
        d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("python=")
    )
    assert f"python:1-{python.split('=')[1]}-" in config["image"]  # Binder's Python, too
    assert "DASHSCOPE_API_KEY" in config["secrets"]


def test_the_publishing_workflow_runs_make_site_and_the_browser_test_only():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
    runs = [s["run"] for s in workflow["jobs"]["build"]["steps"] if "run" in s]
    assert runs[1:] == [
        "make site",
        "make setup-test && COOKBOOK_SITE_DIR=_build/html .venv/bin/python -m pytest tests/test_site.py",
    ]
    assert "apt-get install" in runs[0] and "chromium" in runs[0]
    uploads = [
        s
        for s in workflow["jobs"]["build"]["steps"]
        if "upload-pages-artifact" in s.get("uses", "")
    ]
    assert uploads[0]["with"]["path"] == "_build/html"

"""The generated table of contents, badges and Colab cell."""

import shutil
from pathlib import Path

import pytest

from tools import course

ROOT = Path(__file__).resolve().parent.parent


def test_repository_slug_comes_from_pyproject():
    assert course.repository().count("/") == 1


def test_table_has_a_row_per_lesson_with_measured_time():
    table = course.readme_table().splitlines()
    lessons = course.notebook_paths()
    assert len(table) == 2 + len(lessons)
    for row, path in zip(table[2:], lessons, strict=True):
        info = course.notebook_info(path)
        assert f"[{info.title}](notebooks/{path.name})" in row
        assert f"~{info.minutes} min" in row
        assert "not measured" not in row, f"{path.name}: run `make notebooks` to measure it"


def test_badges_point_at_the_notebook_in_the_repository():
    path = course.notebook_paths()[0]
    badges = course.badges_markdown(path)
    slug = course.repository()
    assert f"colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}" in badges
    assert f"mybinder.org/v2/gh/{slug}/main?labpath=notebooks%2F{path.name}" in badges


def test_colab_cell_clones_the_repository():
    source = course.colab_cell_source()
    assert source.startswith(course.COLAB_MARK)
    assert f"https://github.com/{course.repository()}" in source
    assert "%run /content/qwen-max-cookbook/utils/colab.py" in source


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(course, "repo_root", lambda: tmp_path)
    return tmp_path


def test_drift_is_detected_and_sync_repairs_it(repo_copy):
    assert course.out_of_date() == []
    readme = repo_copy / "README.md"
    readme.write_text(readme.read_text().replace("| 00 |", "| 0 |"))
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(course.repository(), "someone/fork"))
    stale = course.out_of_date()
    assert readme in stale and len(stale) == 1 + len(
        list((repo_copy / "notebooks").rglob("*.ipynb"))
    )
    assert course.main(["check"]) == 1
    course.sync()
    assert course.out_of_date() == []
    assert "someone/fork" in course.colab_cell_source()
    assert "| 00 |" in readme.read_text()


def test_notebook_without_metadata_is_rejected(tmp_path):
    import nbformat

    path = tmp_path / "99_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# X")]), path)
    with pytest.raises(ValueError, match="Time"):
        course.notebook_info(path)

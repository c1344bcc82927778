"""The generated table of contents, badges and Colab cell."""

import pytest

from tools import course


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


def _publish(repo_copy):
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("published = false", "published = true"))
    assert course.published()


def test_unpublished_colab_cell_says_so_and_names_no_repository():
    """Review point 5: the cell cloned a placeholder repository that does not exist."""
    assert not course.published()  # [tool.cookbook] published in pyproject.toml
    source = course.colab_cell_source()
    assert source.startswith(course.COLAB_MARK)
    assert "not published yet" in source and "raise RuntimeError" in source
    assert "github.com" not in source and "git clone" not in source
    for path in course.notebook_paths():  # and the committed notebooks carry that cell
        first_code = next(c for c in course._load(path)["cells"] if c["cell_type"] == "code")
        assert course._source(first_code) == source, path.name


def test_published_colab_cell_clones_the_repository(repo_copy):
    _publish(repo_copy)
    source = course.colab_cell_source()
    assert source.startswith(course.COLAB_MARK) and "not published" not in source
    assert f"https://github.com/{course.repository()}" in source
    assert "%run /content/qwen-max-cookbook/utils/colab.py" in source


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
    _publish(repo_copy)
    assert "someone/fork" in course.colab_cell_source()
    assert "| 00 |" in readme.read_text()


def test_notebook_without_metadata_is_rejected(tmp_path):
    import nbformat

    path = tmp_path / "99_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# X")]), path)
    with pytest.raises(ValueError, match="Time"):
        course.notebook_info(path)

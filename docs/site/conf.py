"""Sphinx configuration of the course website: `make site` builds it into _build/html.

The source folder is the repository root: README.md is the home page, the notebooks are
rendered from their committed outputs (never executed), and the pages are listed by
tools/site.py. Repository links and launch buttons come from pyproject.toml.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the maintainer tools in tools/ (not an installed package)

from tools import course, site  # noqa: E402

project = "Qwen2.5-Max cookbook"
author = "the qwen-max-cookbook authors"
root_doc = "README"
include_patterns = ["README.md", *site.pages()]
exclude_patterns = ["_build"]

extensions = ["myst_nb", "tools.site"]
nb_execution_mode = "off"  # the committed outputs, from a real run
nb_ipywidgets_js = {}  # widgets are drawn from their saved state (tools/site_notebook.py)
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3  # GitHub's #section links in README and the guides

html_theme = "sphinx_book_theme"
html_title = "Qwen2.5-Max cookbook"
html_static_path = [str(Path(__file__).parent / "_static")]
html_css_files = ["course.css"]
html_show_sourcelink = False
html_copy_source = False  # the committed .ipynb files are on the repository, not here
html_theme_options = {
    "repository_url": course.repository_url(),
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": False,  # it offers _sources/, which is not copied (html_copy_source)
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "announcement": "" if course.published() else site.unpublished_note(),
    "show_toc_level": 2,
    "navbar_persistent": [],  # the sidebar has the search box
}
html_context = {"default_mode": "light"}  # an empty mode makes the theme log an error
html_favicon = str(Path(__file__).parent / "_static" / "favicon.svg")

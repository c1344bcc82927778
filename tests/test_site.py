"""The course website in a real browser: build it, open every page, check what a reader sees.

Builds the site as ``make site`` does (into a temporary folder; with ``COOKBOOK_SITE_DIR`` set,
checks that build instead, as the publishing workflow does), serves it on loopback and visits
every page in headless Chromium (the set-up of ``tests/test_browser.py``). Requests that
leave the loopback server are blocked and counted as failures: the site works offline.
Screenshots of the home page and of lesson 05 go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS  # skips here too without chromium
from test_secrets import KEY_LIKE

from tools import course, site
from utils.loopback.static import StaticSite

ROOT = Path(__file__).resolve().parent.parent
MACHINE_PATHS = re.compile(
    r"/root/|/home/[a-z_][\w.-]*/|/Users/\w+/|[A-Z]:\\Users\\"
    + "".join(f"|{re.escape(str(p))}" for p in {ROOT, Path.home()} if len(str(p)) > 5)
)
PAGE_FACTS = """() => ({
    title: document.title,
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    outputImages: [...document.querySelectorAll('.cell_output img')].filter(i => i.naturalWidth > 0).length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    next: document.querySelector('.prev-next-area a.right-next')?.href ?? null,
    prev: document.querySelector('.prev-next-area a.left-prev')?.href ?? null,
    article: document.querySelector('article')?.innerText ?? '',
    header: document.querySelector('.lesson-header')?.innerText ?? null,
    headerLinks: [...document.querySelectorAll('.lesson-header a')].map(a => [a.innerText, a.href]),
    repository: document.querySelector('a.btn-source-repository-button')?.href ?? null,
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href),
    formulas: document.querySelectorAll('.math').length,
    untypeset: [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container')).length,
    progress: [...document.querySelectorAll('progress')].map(p => [p.value, p.max]),
    widgetText: [...document.querySelectorAll('.cell_output .site-widget')].map(o => o.innerText).join('\\n'),
    navigation: [...document.querySelectorAll('.bd-sidenav')].map(n => [
        n.previousElementSibling?.innerText ?? '', [...n.querySelectorAll('a')].map(a => a.href)]),
})"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The built site: ``COOKBOOK_SITE_DIR`` if set, else a fresh build."""
    if os.environ.get("COOKBOOK_SITE_DIR"):
        return Path(os.environ["COOKBOOK_SITE_DIR"]).resolve()
    outdir = tmp_path_factory.mktemp("site") / "html"
    site.build(outdir)
    return outdir


@pytest.fixture(scope="module")
def base_url(built):
    with StaticSite(built) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser_page(base_url):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})

        def route(request_route):
            if request_route.request.url.startswith(base_url):
                request_route.continue_()
            else:  # the site must not need the internet
                problems.append(f"{page.url}: fetched {request_route.request.url}")
                request_route.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda m: m.type == "error" and problems.append(f"{page.url}: console: {m.text}"),
        )
        page.on(
            "response",
            lambda r: r.status >= 400 and problems.append(f"{page.url}: {r.status} {r.url}"),
        )
        yield page, problems
        browser.close()


@pytest.fixture(scope="module")
def visits(built, base_url, browser_page) -> dict[str, dict]:
    """Every HTML page of the site, opened in the browser: page path -> what it showed."""
    page, _ = browser_page
    facts = {}
    for path in sorted(built.rglob("*.html")):
        name = path.relative_to(built).as_posix()
        if name.startswith("_static/") or name == "index.html":
            continue  # the theme's template fragments; a redirect to README.html
        page.goto(f"{base_url}/{name}", wait_until="load")
        page.evaluate("() => window.MathJax?.startup?.promise")  # formulas typeset
        facts[name] = page.evaluate(PAGE_FACTS)
    page.wait_for_load_state("networkidle")  # the last page's late requests are checked too
    return facts


def _unsmart(text: str) -> str:
    """``text`` with Sphinx's typographic quotes turned back into plain ones."""
    return text.translate(str.maketrans("‘’“”", "''\"\""))


def _html_name(notebook: Path) -> str:
    return notebook.relative_to(ROOT).with_suffix(".html").as_posix()


def _pages_in_order() -> list[str]:
    return ["README.html"] + [str(Path(p).with_suffix(".html")) for p in site.pages()]


def test_every_page_is_built_and_opens_without_errors(visits, browser_page):
    _, problems = browser_page
    assert set(_pages_in_order()) | {"search.html", "genindex.html"} == set(visits)
    assert not problems, "\n".join(problems[:10])


def test_every_image_loads(visits):
    broken = [
        f"{name}: {i['src']}" for name, f in visits.items() for i in f["images"] if not i["ok"]
    ]
    assert not broken, broken[:10]


def test_every_internal_link_points_at_a_page_and_anchor_that_exist(visits, built, base_url):
    broken = []
    for name, facts in visits.items():
        for link in facts["links"]:
            if not link.startswith(base_url):
                continue
            url = urlsplit(link)
            target = unquote(url.path).lstrip("/") or "index.html"
            if not (built / target).is_file():
                broken.append(f"{name}: {link}")
            elif url.fragment and target in visits and url.fragment not in visits[target]["ids"]:
                broken.append(f"{name}: {link} (no such anchor)")
    assert not broken, broken[:10]


def test_the_home_page_is_readme_and_index_leads_to_it(visits, browser_page, base_url):
    page, _ = browser_page
    page.goto(f"{base_url}/", wait_until="load")
    page.wait_for_url(f"{base_url}/README.html")
    assert "qwen-max-cookbook" in page.title()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "site-home.png")


def test_lessons_come_in_order_with_previous_and_next_and_solutions_apart(visits, base_url):
    order = _pages_in_order()
    last_lesson = _html_name(course.notebook_paths()[-1])
    first_solution = _html_name(site.solution_paths()[0])
    for before, name, after in zip(order[:-1], order[1:], order[2:] + [None], strict=True):
        if name == first_solution:  # the solutions start afresh, apart from the lessons
            before = None
        if name == last_lesson:  # the lessons end here, not in Solutions 00
            after = None
        assert visits[name]["prev"] == (f"{base_url}/{before}" if before else None), name
        assert visits[name]["next"] == (f"{base_url}/{after}" if after else None), name
    sections = dict((caption, links) for caption, links in visits["README.html"]["navigation"])
    lessons = [f"{base_url}/{_html_name(p)}" for p in course.notebook_paths()]
    solutions = [f"{base_url}/{_html_name(p)}" for p in site.solution_paths()]
    assert sections["Lessons"] == lessons
    assert sections["Solutions"] == solutions


def test_each_lesson_shows_its_goals_times_and_plots(visits, browser_page, base_url):
    for path in course.notebook_paths() + site.solution_paths():
        facts = visits[_html_name(path)]
        notebook = json.loads(path.read_text(encoding="utf-8"))
        plots = sum(
            "image/png" in output.get("data", {})
            for cell in notebook["cells"]
            for output in cell.get("outputs", [])
        )
        assert facts["outputImages"] >= plots, (
            f"{path.name}: {facts['outputImages']} of {plots} plots"
        )
        if path.parent.name == "solutions":
            continue
        info = course.notebook_info(path)
        assert info.summary in _unsmart(facts["header"]), path.name
        assert f"Study time: ~{info.minutes} min" in facts["header"], path.name
        assert f"Full run: {course.format_run(info.run_seconds)}" in facts["header"], path.name
        assert "Learning goals" in facts["article"], path.name
    page, _ = browser_page
    page.goto(f"{base_url}/notebooks/05_multiple_choice.html", wait_until="load")
    page.screenshot(path=ARTIFACTS / "site-lesson-05.png")


def test_progress_bars_show_their_final_state(visits):
    # utils.progress draws a text line ("requests: 100% |###| 28/28 in 9.1 s"), not a widget
    line = re.compile(r"(\d+)% \|[^|\n]*\| (\d+)/(\d+) in ")
    bars = {name: line.findall(f["article"]) for name, f in visits.items()}
    bars = {name: found for name, found in bars.items() if found}
    assert bars, "no progress line on any page: the runner's progress was not saved"
    for name, found in bars.items():
        assert all(share == "100" and done == total for share, done, total in found), (name, found)
    for name, f in visits.items():  # any widget bar left must show its end, not a frozen 0 %
        assert all(value == maximum > 0 for value, maximum in f["progress"]), name
        assert not re.search(r"(?<![\d.])0%", f["widgetText"]), name


def test_formulas_are_typeset_by_the_bundled_mathjax(visits):
    assert sum(f["formulas"] for f in visits.values()) > 0
    untypeset = {name: f["untypeset"] for name, f in visits.items() if f["untypeset"]}
    assert not untypeset, untypeset


def test_launch_buttons_come_from_the_repository_in_pyproject(visits):
    slug = course.repository()
    for path in course.notebook_paths() + site.solution_paths():
        facts = visits[_html_name(path)]
        urls = course.launch_urls(path)
        assert {text: href for text, href in facts["headerLinks"] if text in urls} == urls
        relative = path.relative_to(ROOT).as_posix()
        assert len(facts["launch"]) == 2, path.name  # the theme's Binder and Colab buttons
        assert all(slug in url and relative in unquote(url) for url in facts["launch"]), facts[
            "launch"
        ]
    launchers = re.compile(r"https://(colab\.research\.google\.com|mybinder\.org|codespaces\.new)/")
    for name, facts in visits.items():
        assert facts["repository"] == course.repository_url(), name
        for link in filter(launchers.match, facts["links"]):
            assert slug in link, f"{name}: {link} is not built from pyproject.toml"


def test_search_finds_a_lesson(browser_page, base_url):
    page, _ = browser_page
    page.goto(f"{base_url}/search.html?q=Bradley", wait_until="load")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=30_000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("07_llm_as_judge" in href for href in hrefs), hrefs


def test_no_secret_or_machine_path_in_what_is_published(built):
    offenders = []
    for path in built.rglob("*"):
        if path.is_dir() or "mathjax" in path.parts or path.suffix in {".png", ".woff2", ".svg"}:
            continue
        text = path.read_text(errors="ignore")
        for pattern in [*KEY_LIKE, MACHINE_PATHS]:
            if match := pattern.search(text):
                offenders.append(f"{path.relative_to(built)}: {match.group(0)}")
    assert not offenders, offenders[:10]

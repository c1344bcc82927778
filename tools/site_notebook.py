"""A committed notebook as the course website shows it (``tools/site.py`` builds the site).

Nothing here runs a notebook: each function rewrites the notebook's JSON as committed.

* Widgets become plain HTML of their saved final state (a progress bar at 100 %, not the
  frozen "0%" of its text/plain), so a page needs no widget JavaScript from the internet.
* Home-folder paths in outputs (``/root/...``, ``/home/NAME/...``) become ``~/...``.
* The generated badges cell (its images come from the badge services) gives way to a lesson
  header: what you learn, study and run time, and where to run it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from tools import course

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
STATIC_NOTE = "Saved state of an interactive widget: run the notebook to use it."
_HOME = re.compile(  # not inside a URL or a longer path (…/x/root/…)
    r"(?<![\w./~])(?:/root(?=/)|/home/[^/\s'\"]+|/Users/[^/\s'\"]+)"
    r"|(?<!\w)[A-Z]:\\\\?Users\\\\?[^\\\s'\"]+"
)
_TAGS = re.compile(r"<[^>]+>")
_LAYOUT_CSS = {  # ipywidgets Layout traits kept on the page (the others do not change the look)
    "border_top": "border-top",
    "border_right": "border-right",
    "border_bottom": "border-bottom",
    "border_left": "border-left",
    "max_height": "max-height",
    "overflow": "overflow",
    "width": "width",
}
_CONTROLS = {"ButtonModel", "TextareaModel", "TextModel", "FloatSliderModel", "IntSliderModel"}


class UnknownWidget(ValueError):
    """A widget model the static renderer does not know (its text/plain is shown instead)."""


def redact_home(text: str) -> str:
    """``text`` with home-folder prefixes replaced by ``~``."""
    return _HOME.sub("~", text)


def _redact(value):
    if isinstance(value, str):
        return redact_home(value)
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k.startswith("image/") else _redact(v) for k, v in value.items()}
    return value


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _style(models: dict, state: dict) -> str:
    layout = models.get(str(state.get("layout", "")).removeprefix("IPY_MODEL_"), {})
    traits = layout.get("state", {})
    css = [f"{prop}: {traits[key]}" for key, prop in _LAYOUT_CSS.items() if traits.get(key)]
    return f' style="{html.escape("; ".join(css))}"' if css else ""


def widget_html(model_id: str, models: dict) -> tuple[str, str, bool]:
    """HTML and plain text of a saved widget, and whether it has controls that need a kernel."""
    model = models.get(model_id.removeprefix("IPY_MODEL_"))
    if model is None:
        raise UnknownWidget(f"no saved state for widget {model_id}")
    name, state = model["model_name"], model["state"]
    classes = " ".join(["site-widget", *state.get("_dom_classes", [])])
    style = _style(models, state)
    label = html.escape(state.get("description", ""))
    value = state.get("value")
    if name in {"HBoxModel", "VBoxModel", "BoxModel"}:
        parts = [widget_html(child, models) for child in state.get("children", [])]
        kind = "hbox" if name == "HBoxModel" else "vbox"
        inner = "".join(p[0] for p in parts)
        text = ("" if kind == "hbox" else "\n").join(p[1] for p in parts)
        return (
            f'<div class="{classes} site-widget-{kind}"{style}>{inner}</div>',
            text,
            any(p[2] for p in parts),
        )
    if name in {"HTMLModel", "HTMLMathModel", "LabelModel"}:
        body = value if name != "LabelModel" else html.escape(value)
        return (
            f'<div class="{classes}"{style}>{body}</div>',
            html.unescape(_TAGS.sub("", body)),
            False,
        )
    if name in {"FloatProgressModel", "IntProgressModel"}:
        low, high = state.get("min", 0), state.get("max", 100)
        share = (value - low) / (high - low) if high > low else 0.0
        bar = "█" * round(10 * share) + " " * (10 - round(10 * share))
        return (
            f'<progress class="{classes}" max="{high - low}" value="{value - low}">'
            f"{share:.0%}</progress>",
            f"|{bar}|",
            False,
        )
    if name == "ButtonModel":
        return f'<button class="{classes}" type="button" disabled>{label}</button>', "", True
    if name in {"TextareaModel", "TextModel"}:
        placeholder = html.escape(state.get("placeholder", "").strip("\u200b"))
        field = (
            f'<textarea disabled rows="{state.get("rows") or 2}" placeholder="{placeholder}">'
            f"{html.escape(value or '')}</textarea>"
        )
        return f'<label class="{classes}"{style}>{label} {field}</label>', value or "", True
    if name in {"FloatSliderModel", "IntSliderModel"}:
        low, high, step = state.get("min", 0), state.get("max", 100), state.get("step", 1)
        field = (
            f'<input type="range" disabled min="{low}" max="{high}" step="{step}" value="{value}">'
        )
        return (
            f'<label class="{classes}">{label} {field} {value}</label>',
            f"{label}: {value}",
            True,
        )
    raise UnknownWidget(f"the site cannot draw a {name}")


def render_widgets(notebook: dict) -> dict:
    """``notebook`` with every widget output replaced by its saved final state, and no widget
    state left in its metadata (so no widget JavaScript is loaded)."""
    saved = notebook.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {})
    models = saved.get("state", {})
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            view = data.pop(WIDGET_VIEW)
            try:
                markup, text, controls = widget_html(view["model_id"], models)
            except UnknownWidget:
                continue  # the output keeps its text/plain
            if controls:
                markup += f'<p class="site-widget-note">{STATIC_NOTE}</p>'
            data["text/html"] = markup
            data["text/plain"] = text
    return notebook


def _lesson_link(path: Path) -> str | None:
    if path.parent.name != "solutions":
        return f"solutions/{path.stem}_solutions.ipynb"
    return None


def header_markdown(path: Path) -> str:
    """The box under a page's title: what the lesson teaches, its times, where to run it."""
    links = " · ".join(f"[{name}]({url})" for name, url in course.launch_urls(path).items())
    lines = []
    if path.parent.name != "solutions":
        info = course.notebook_info(path)
        lines += [
            f"**What you learn:** {info.summary}",
            f"**Study time:** ~{info.minutes} min · **Full run:** "
            f"{course.format_run(info.run_seconds)} on the local model (2 CPU cores)",
        ]
    lines.append(f"**Run it yourself:** {links}")
    if (solutions := _lesson_link(path)) is not None:
        lines[-1] += f" · [Solutions]({solutions})"
    body = "\n\n".join(lines)
    return f"```{{admonition}} About this page\n:class: lesson-header\n\n{body}\n```"


def for_site(notebook: dict, path: Path) -> dict:
    """``notebook`` (the committed JSON of ``path``) as the website shows it."""
    cells = [
        c
        for c in notebook["cells"]
        if not (c["cell_type"] == "markdown" and _text(c["source"]).startswith(course.BADGES_MARK))
    ]
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"] = _redact(cell.get("outputs", []))
    title = next(
        (c for c in cells if c["cell_type"] == "markdown" and _text(c["source"]).startswith("# ")),
        None,
    )
    if title is None:
        raise ValueError(f"{path.name} has no '# Title' cell")
    heading, _, rest = _text(title["source"]).partition("\n")
    title["source"] = f"{heading}\n\n{header_markdown(path)}\n{rest}"
    notebook["cells"] = cells
    return render_widgets(notebook)

"""A progress line that ends true: live in Jupyter, and its final state kept in a saved notebook.

A ``tqdm.auto`` bar is a widget: a saved notebook keeps only its first text, "0%", so every
committed output looked frozen. ``Progress`` shows plain text through one IPython display
and updates that display in place, so the notebook file holds the last update (nbclient applies
display updates too). Outside IPython it prints nothing while running and one line at the end.
"""

from __future__ import annotations

import sys
import time

WIDTH = 20  # characters in the drawn bar


def progress_text(desc: str, done: int, total: int, seconds: float) -> str:
    """One line: ``desc``, a bar, ``done/total`` and the time so far."""
    share = done / total if total else 1.0
    filled = round(WIDTH * share)
    bar = "█" * filled + "·" * (WIDTH - filled)
    return f"{desc}: {share:4.0%} |{bar}| {done}/{total} in {seconds:.1f} s"


def _display_handle(text: str):
    """An IPython display showing ``text`` that can be updated, or None outside a kernel."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    return display({"text/plain": text}, raw=True, display_id=True)


class Progress:
    """Count finished items out of ``total``; ``close()`` leaves the final line."""

    def __init__(
        self, total: int, desc: str, enabled: bool = True, min_interval: float = 0.5
    ) -> None:
        self.total, self.desc, self.enabled = total, desc, enabled
        self.done, self.min_interval = 0, min_interval
        self.started = self._shown = time.perf_counter()
        self._closed = False
        self._handle = _display_handle(self.text()) if enabled else None

    def text(self) -> str:
        return progress_text(self.desc, self.done, self.total, time.perf_counter() - self.started)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done; redraw at most every ``min_interval`` seconds."""
        self.done += n
        now = time.perf_counter()
        if self._handle is not None and now - self._shown >= self.min_interval:
            self._shown = now
            self._handle.update({"text/plain": self.text()}, raw=True)

    def close(self) -> None:
        """Draw the final state once (in the notebook's display, or as a line on stderr)."""
        if self._closed or not self.enabled:
            return
        self._closed = True
        if self._handle is not None:
            self._handle.update({"text/plain": self.text()}, raw=True)
        else:
            print(self.text(), file=sys.stderr)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

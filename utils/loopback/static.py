"""A folder's files on loopback (a built website), served by http.server's own file handler."""

from __future__ import annotations

from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from utils.loopback.server import Exchange, LoopbackAPI


class StaticSite(LoopbackAPI):
    """Serve the files under ``folder`` at ``url`` (GET and HEAD), as ``python -m http.server``."""

    prefix = ""
    methods = ("GET", "HEAD")
    protocol = "HTTP/1.0"  # one request per connection, as http.server's default
    handler_base = SimpleHTTPRequestHandler

    def __init__(self, folder: str | Path) -> None:
        self.folder = str(folder)
        super().__init__()

    def handle(self, exchange: Exchange) -> None:
        """The raw hook: the stdlib's file handler answers, from ``folder``."""
        exchange.handler.directory = self.folder
        getattr(SimpleHTTPRequestHandler, f"do_{exchange.request.method}")(exchange.handler)

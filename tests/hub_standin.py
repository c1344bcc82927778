"""A Hugging Face hub stand-in on loopback: serves real files under ``/{repo}/resolve/{rev}/{file}``.

Enough of the hub's file protocol for ``huggingface_hub.hf_hub_download`` (HEAD with
``X-Repo-Commit``, ``ETag`` and ``Content-Length``, then GET), so the course's download code
runs for real, with no network, when ``HF_ENDPOINT`` points here.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from utils.loopback import Exchange, LoopbackAPI

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # one made-up revision for every file


class HubStandIn(LoopbackAPI):
    """Serve ``files`` ({"owner/name/filename": local path}); count the GETs it answered."""

    prefix = ""
    methods = ("GET", "HEAD")
    protocol = "HTTP/1.0"  # one request per connection, as http.server's default

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.downloads: list[str] = []
        super().__init__()

    def handle(self, exchange: Exchange) -> None:
        """Answer by hand: a file's headers, then (for a GET) its bytes copied from disk."""
        found = self._file(exchange.request.path)
        if found is None:
            self._missing(exchange)
            return
        key, path = found
        if exchange.request.method == "GET":
            self.downloads.append(key)
        size = path.stat().st_size
        etag = hashlib.sha256(f"{key}:{size}".encode()).hexdigest()  # one per file
        exchange.head(200, [("X-Repo-Commit", COMMIT), ("ETag", f'"{etag}"'),
                            ("Content-Length", str(size)),
                            ("Content-Type", "application/octet-stream")])  # fmt: skip
        if exchange.request.method == "GET":
            with open(path, "rb") as source:
                shutil.copyfileobj(source, exchange.handler.wfile)

    def _file(self, url_path: str) -> tuple[str, Path] | None:
        parts = url_path.split("?")[0].strip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return None
        key = "/".join(parts[:2] + parts[4:])  # owner/name + filename (revision dropped)
        path = self.files.get(key)
        return (key, path) if path is not None else None

    @staticmethod
    def _missing(exchange: Exchange) -> None:
        body = b'{"error": "Entry not found"}'
        exchange.head(404, [("X-Error-Code", "EntryNotFound"), ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])  # fmt: skip
        if exchange.request.method != "HEAD":
            exchange.write(body)

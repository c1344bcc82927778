"""A Hugging Face hub stand-in on loopback: serves real files under ``/{repo}/resolve/{rev}/{file}``.

Enough of the hub's file protocol for ``huggingface_hub.hf_hub_download`` (HEAD with
``X-Repo-Commit``, ``ETag`` and ``Content-Length``, then GET), so the course's download code
runs for real, with no network, when ``HF_ENDPOINT`` points here.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # one made-up revision for every file


class HubStandIn:
    """Serve ``files`` ({"owner/name/filename": local path}); count the GETs it answered."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.downloads: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _file(self) -> tuple[str, Path] | None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return None
                key = "/".join(parts[:2] + parts[4:])  # owner/name + filename (revision dropped)
                path = hub.files.get(key)
                return (key, path) if path is not None else None

            def _headers(self, key: str, path: Path) -> None:
                size = path.stat().st_size
                etag = hashlib.sha256(f"{key}:{size}".encode()).hexdigest()  # one per file
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(size))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()

            def do_HEAD(self):  # noqa: N802 (http.server's naming)
                found = self._file()
                if found is None:
                    self._missing()
                    return
                self._headers(*found)

            def do_GET(self):  # noqa: N802
                found = self._file()
                if found is None:
                    self._missing()
                    return
                key, path = found
                hub.downloads.append(key)
                self._headers(key, path)
                with open(path, "rb") as source:
                    shutil.copyfileobj(source, self.wfile)

            def _missing(self):
                body = b'{"error": "Entry not found"}'
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HubStandIn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

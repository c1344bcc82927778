"""Record the notebooks' model calls on Model Studio into ``data/recorded/`` (``make record``).

    python -m tools.record                                   # every lesson
    python -m tools.record notebooks/01_first_api_call.ipynb

It needs a DashScope key (``DASHSCOPE_API_KEY``): recordings come only from Model Studio. Each
notebook runs in a fresh kernel whose endpoint is a loopback ``RecordingProxy``; the proxy
passes every request to Model Studio unchanged (the key included, never stored) and saves each
chat completion it answers with ``utils.recordings.save``. The notebooks themselves are not
rewritten. Calls cost money: a full run makes every lesson's calls once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from utils.loopback import Exchange, LoopbackAPI
from utils.recordings import RecordingError, recorded_dir, region_of, save

ROOT = Path(__file__).resolve().parent.parent
HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


def assemble(chunks: list[dict]) -> dict:
    """A chat.completion built from a stream's chunks: text, finish_reason and usage."""
    text, finish, usage, model = [], None, None, None
    for chunk in chunks:
        model = chunk.get("model") or model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
            finish = choice.get("finish_reason") or finish
    message = {"role": "assistant", "content": "".join(text)}
    answer = {"object": "chat.completion", "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish}]}  # fmt: skip
    if usage:
        answer["usage"] = usage
    return answer


class RecordingProxy(LoopbackAPI):
    """Loopback proxy to ``upstream``: answers as upstream does and records chat completions."""

    methods = ("GET", "POST")

    def __init__(self, upstream: str, folder: Path | None = None) -> None:
        folder = Path(folder) if folder is not None else recorded_dir()
        if region_of(upstream) is None and folder.resolve() == recorded_dir().resolve():
            raise RecordingError(
                f"{upstream} is not Model Studio: its answers must not be committed as "
                "recordings. Give the proxy another folder."
            )
        self.upstream, self.folder = upstream.rstrip("/"), folder
        self.recorded: list[Path] = []
        super().__init__()

    def _connection(self) -> http.client.HTTPConnection:
        split = urlsplit(self.upstream)
        kind = (
            http.client.HTTPSConnection if split.scheme == "https" else http.client.HTTPConnection
        )
        return kind(split.hostname, split.port, timeout=900)

    def handle(self, exchange: Exchange) -> None:
        """Pass one request upstream and relay the answer as it comes (the raw hook)."""
        method, raw = exchange.request.method, exchange.request.raw or None
        path = exchange.request.path.split("/v1", 1)[-1]
        received = exchange.handler.headers.items()  # as sent: names in their own case
        headers = {k: v for k, v in received if k.lower() not in HOP_HEADERS}
        connection = self._connection()
        try:
            connection.request(method, urlsplit(self.upstream).path + path, raw, headers)
            response = connection.getresponse()
            streamed = "text/event-stream" in response.getheader("content-type", "")
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
            if streamed:
                exchange.start_chunks(response.status, kept)
                answer = self._relay_stream(exchange, response)
            else:
                data = response.read()
                exchange.head(response.status, [*kept, ("content-length", str(len(data)))])
                exchange.write(data)
                answer = json.loads(data) if response.status == 200 else None
        finally:
            connection.close()
        if method == "POST" and path.startswith("/chat/completions") and answer and raw:
            self.recorded.append(save(json.loads(raw), answer, self.upstream, self.folder))

    @staticmethod
    def _relay_stream(exchange: Exchange, response) -> dict | None:
        chunks, done = [], False
        try:
            for line in response:
                exchange.chunk(line)
                text = line.strip()
                if text == b"data: [DONE]":
                    done = True
                elif text.startswith(b"data:"):
                    chunks.append(json.loads(text[5:]))
        except http.client.HTTPException:
            done = False
        if not done:  # upstream cut the stream: cut ours the same way, and record nothing
            exchange.hang_up()
            return None
        exchange.end_chunks()
        return assemble(chunks)


def run_notebook(path: Path, timeout: int = 900) -> None:
    """Execute ``path`` in a fresh kernel (errors allowed); the file is not rewritten."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True, resources=resources).execute()  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from utils.settings import ConfigError, load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}")
        return 1
    if settings.provider != "dashscope" or region_of(settings.base_url) is None:
        print(
            "make record needs a DashScope key (DASHSCOPE_API_KEY) and Model Studio's own "
            f"endpoint; the course is configured for {settings.base_url} ({settings.reason})."
        )
        return 1
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    with RecordingProxy(settings.base_url) as proxy:
        os.environ["DASHSCOPE_BASE_URL"] = proxy.base_url  # the kernels inherit it
        for path in paths:
            before = len(proxy.recorded)
            print(f"recording {path} ...", flush=True)
            run_notebook(path.resolve())
            print(f"  {len(proxy.recorded) - before} answer(s) recorded", flush=True)
    print(f"{len(set(proxy.recorded))} recording(s) in {recorded_dir()} from {settings.model}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

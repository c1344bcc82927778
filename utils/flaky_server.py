"""A tiny OpenAI-compatible server on loopback that streams a canned answer and can drop the
connection partway through it — a real broken stream, in milliseconds and without a model.

Exercise checks and tests use it; notebook 02 breaks a real model server instead.

    with FlakyStreamServer(["Hel", "lo", " there"], drop_after=2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        ...  # a stream from client gives "Hel", "lo", then APIConnectionError
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _event(model: str, choices: list[dict], usage: dict | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-flaky",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _delta(model: str, delta: dict, finish_reason: str | None = None) -> bytes:
    return _event(model, [{"index": 0, "delta": delta, "finish_reason": finish_reason}])


class FlakyStreamServer:
    """Streams ``pieces`` as chat chunks; after ``drop_after`` of them, closes the connection.

    ``done_after`` instead ends the stream politely but early: ``[DONE]`` with no
    ``finish_reason``, as llama-cpp-python's server does when another request arrives.

    With ``usage`` (a dict like ``{"prompt_tokens": 9, "completion_tokens": 3,
    "total_tokens": 12}``) a complete stream ends with a usage chunk, as hosted APIs send
    for ``stream_options={"include_usage": True}``.
    """

    def __init__(
        self,
        pieces: list[str],
        drop_after: int | None = None,
        done_after: int | None = None,
        delay: float = 0.0,
        model: str = "flaky-model",
        usage: dict | None = None,
    ) -> None:
        self.pieces, self.drop_after, self.delay, self.model = pieces, drop_after, delay, model
        self.done_after, self.usage = done_after, usage
        self.requests: list[dict] = []  # the JSON body of every chat request received
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked transfer, like a real streaming server

            def _send_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                self._send_chunk(_delta(server.model, {"role": "assistant"}))
                for sent, piece in enumerate(server.pieces):
                    if server.drop_after is not None and sent == server.drop_after:
                        self.close_connection = True  # no final chunk, no [DONE]: a cut wire
                        return
                    if server.done_after is not None and sent == server.done_after:
                        self._send_chunk(b"data: [DONE]\n\n")
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    time.sleep(server.delay)
                    self._send_chunk(_delta(server.model, {"content": piece}))
                self._send_chunk(_delta(server.model, {}, finish_reason="stop"))
                if server.usage is not None:
                    self._send_chunk(_event(server.model, [], usage=server.usage))
                self._send_chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")  # the end of a chunked body

            def log_message(self, *args):  # keep notebook and test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FlakyStreamServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

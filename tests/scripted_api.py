"""A scripted OpenAI-compatible server on loopback, for tests that must count real requests.

Use it from a fixture: ``with scripted_servers() as make: yield make``.
"""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


def completion(
    content: str | None, finish_reason: str = "stop", tool_calls: list[dict] | None = None
) -> dict:
    """A minimal, valid chat.completion body (with ``tool_calls`` if given)."""
    message = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


class ScriptedAPI:
    """Loopback server: answers each chat request with ``reply(body) -> (status, json)``."""

    def __init__(self, reply, delay: float = 0.0):
        self.reply, self.delay = reply, delay
        self.hits = 0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with api.lock:
                    api.hits += 1
                    api.in_flight += 1
                    api.max_in_flight = max(api.max_in_flight, api.in_flight)
                threading.Event().wait(api.delay)
                status, data = api.reply(body)
                with api.lock:
                    api.in_flight -= 1
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self, **options) -> openai.AsyncOpenAI:
        key = "sk-" + "ab" * 10  # built at run time: no key-like string in the repository
        return openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, **options)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def scripted_servers() -> Iterator[Callable[..., ScriptedAPI]]:
    """Yield ``make(reply=None, delay=0.0)``; every server made is closed at the end.

    The default reply echoes the last message, answers 400 if it contains "FAIL" and 500 if
    it contains "CRASH".
    """
    servers = []

    def make(reply=None, delay: float = 0.0) -> ScriptedAPI:
        def echo(body):
            text = body["messages"][-1]["content"]
            if "FAIL" in text:
                return 400, {"error": {"message": "bad request", "type": "invalid_request_error"}}
            if "CRASH" in text:
                return 500, {"error": {"message": "server fell over", "type": "server_error"}}
            return 200, completion(f"echo: {text}")

        server = ScriptedAPI(reply or echo, delay)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()

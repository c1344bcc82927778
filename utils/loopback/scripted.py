"""A scripted OpenAI-compatible chat server on loopback: real HTTP, replies written by hand.

Tests use it to count real requests. Notebook 04 uses it to play an assistant's turns
(tool calls written by hand), so the tool loop can be taught and checked on any backend::

    from utils.loopback.scripted import ScriptedAPI, completion, in_order, tool_call

    turns = [completion(None, "tool_calls", [tool_call("c1", "calculator", '{"expression": "2+2"}')]),
             completion("It is 4.")]
    with ScriptedAPI(in_order(turns)) as server:
        client = server.sync_client()
        ...                      # server.requests holds every request body it received

Nothing here is a model: every reply is one you wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from utils.loopback.server import JSONResponse, LoopbackAPI, Request

Reply = Callable[[dict], tuple[int, dict]]  # request body → (HTTP status, JSON body)


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
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def tool_call(call_id: str, name: str, arguments: str) -> dict:
    """One entry of an assistant turn's ``tool_calls``: ``arguments`` is a JSON string."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def in_order(bodies: list[dict]) -> Reply:
    """A reply that answers the n-th request with ``bodies[n]`` (the last one once they run out)."""
    if not bodies:
        raise ValueError("a script needs at least one reply")
    count = 0
    lock = threading.Lock()

    def reply(body: dict) -> tuple[int, dict]:
        nonlocal count
        with lock:
            index = min(count, len(bodies) - 1)
            count += 1
        return 200, bodies[index]

    return reply


class ScriptedAPI(LoopbackAPI):
    """Loopback server: answers each chat request with ``reply(body) -> (status, json)``."""

    model = "scripted"  # the name its replies carry; requests may send any

    def __init__(self, reply: Reply, delay: float = 0.0):
        self.reply = reply
        super().__init__(delay=delay)

    def respond(self, request: Request) -> JSONResponse:
        if request.method != "POST":
            return JSONResponse(404, {"error": {"message": f"no {request.method} {request.path}"}})
        status, data = self.reply(request.body)
        return JSONResponse(status, data)


@contextmanager
def scripted_servers() -> Iterator[Callable[..., ScriptedAPI]]:
    """Yield ``make(reply=None, delay=0.0)``; every server made is closed at the end.

    The default reply echoes the last message, answers 400 if it contains "FAIL" and 500 if
    it contains "CRASH".
    """
    servers = []

    def make(reply: Reply | None = None, delay: float = 0.0) -> ScriptedAPI:
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

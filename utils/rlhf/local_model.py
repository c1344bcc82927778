"""The model the local server runs, for use in this process: its weights and its tokenizer.

The weights are read from the very GGUF file the server reports it serves (``GET /props``),
so the numpy forward pass and the server always run the same model. Tokens and the chat
template come from the server itself (``/apply-template``, ``/tokenize``), so a prompt here
is exactly the token sequence the server reads for the same messages. Every call is
loopback HTTP to ``utils.local_server`` (started if it is not running).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from utils.rlhf.gguf_weights import Weights, cached_weights

TIMEOUT = 120.0  # seconds; a busy CPU can be slow to answer
_server: dict[str, str] = {}  # the local server's root URL, once found


def _root(refresh: bool = False) -> str:
    if refresh or "root" not in _server:
        from utils import local_server  # imported here: importing utils.rlhf starts nothing

        _server["root"] = local_server.ensure_running().removesuffix("/v1")
    return _server["root"]


def _send(root: str, path: str, body: dict | None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    http_request = urllib.request.Request(
        root + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(http_request, timeout=TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:  # it answered: asking again would get the same
        message = error.read().decode(errors="replace")
        raise RuntimeError(
            f"The local model server answered {error.code} to {path}: {message}"
        ) from error


def request(path: str, body: dict | None = None) -> dict:
    """The local server's JSON answer at ``path``: a POST of ``body`` as JSON, or a GET without one."""
    try:
        return _send(_root(), path, body)
    except urllib.error.URLError:  # nothing answered: the server stopped, or moved to another port
        return _send(_root(refresh=True), path, body)


def weights() -> Weights:
    """The served model's weights as numpy arrays (read once per process: a few seconds)."""
    return cached_weights(Path(request("/props")["model_path"]))


def chat_prompt(messages: list[dict]) -> str:
    """The text the model reads for ``messages``: its own chat template, ending where the answer starts."""
    return request("/apply-template", {"messages": messages})["prompt"]


def end_of_turn() -> str:
    """The token that ends a turn (``<|im_end|>`` for SmolLM2 and Qwen2.5), as text."""
    return request("/props")["eos_token"]


def tokenize(text: str, special: bool) -> list[int]:
    """Token ids of ``text``; with ``special``, markers like ``<|im_start|>`` are one token each.

    A prompt is tokenized as the server tokenizes a chat request (special tokens on, plus a
    BOS token if the model wants one); a response as plain text.
    """
    body = {"content": text, "parse_special": special, "add_special": special}
    return request("/tokenize", body)["tokens"]


def pieces(text: str) -> list[str]:
    """``text`` split into the model's tokens, as text pieces (no special tokens)."""
    tokens = request("/tokenize", {"content": text, "with_pieces": True})["tokens"]
    # a piece that is not valid UTF-8 on its own (part of a character) comes as a list of bytes
    return [
        t["piece"] if isinstance(t["piece"], str) else bytes(t["piece"]).decode(errors="replace")
        for t in tokens
    ]


def detokenize(ids: list[int]) -> str:
    """The text of token ``ids`` (the inverse of ``tokenize``)."""
    return request("/detokenize", {"tokens": [int(i) for i in ids]})["content"]

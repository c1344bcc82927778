"""The model the local server runs, for use in this process: its weights and its tokenizer.

(``utils.local_model`` chooses which model the server runs; this module reads the one it serves.)

The weights are read from the very GGUF file the server reports it serves (``GET /props``),
so the numpy forward pass and the server always run the same model. Tokens and the chat
template come from the server itself (``/apply-template``, ``/tokenize``), so a prompt here
is exactly the token sequence the server reads for the same messages. Every call is
loopback HTTP to ``utils.local_server`` (started if it is not running).
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

from utils.llama_api import LlamaAPI
from utils.rlhf.gguf_weights import Weights, cached_weights

TIMEOUT = 120.0  # seconds; a busy CPU can be slow to answer
_server: dict[str, str] = {}  # the local server's root URL, once found


def _root(refresh: bool = False) -> str:
    if refresh or "root" not in _server:
        from utils import local_server  # imported here: importing utils.rlhf starts nothing

        _server["root"] = local_server.ensure_running().removesuffix("/v1")
    return _server["root"]


def _call(method, *args):
    """``method`` of the local server's ``LlamaAPI``; found again if it stopped or moved."""
    try:
        return method(LlamaAPI(_root(), timeout=TIMEOUT), *args)
    except urllib.error.URLError:  # nothing answered: the server stopped, or moved to another port
        return method(LlamaAPI(_root(refresh=True), timeout=TIMEOUT), *args)


def request(path: str, body: dict | None = None) -> dict:
    """The local server's JSON answer at ``path``: a POST of ``body`` as JSON, or a GET without one."""
    return _call(LlamaAPI.request, path, body)


def weights() -> Weights:
    """The served model's weights as numpy arrays (read once per process: a few seconds)."""
    return cached_weights(Path(_call(LlamaAPI.props)["model_path"]))


def chat_prompt(messages: list[dict]) -> str:
    """The text the model reads for ``messages``: its own chat template, ending where the answer starts."""
    return _call(LlamaAPI.apply_template, messages)


def end_of_turn() -> str:
    """The token that ends a turn (``<|im_end|>`` for SmolLM2 and Qwen2.5), as text."""
    return _call(LlamaAPI.props)["eos_token"]


def tokenize(text: str, special: bool) -> list[int]:
    """Token ids of ``text``; with ``special``, markers like ``<|im_start|>`` are one token each.

    A prompt is tokenized as the server tokenizes a chat request (special tokens on, plus a
    BOS token if the model wants one); a response as plain text.
    """
    return _call(LlamaAPI.tokenize, text, special, special)


def pieces(text: str) -> list[str]:
    """``text`` split into the model's tokens, as text pieces (no special tokens)."""
    return _call(LlamaAPI.pieces, text)


def detokenize(ids: list[int]) -> str:
    """The text of token ``ids`` (the inverse of ``tokenize``)."""
    return _call(LlamaAPI.detokenize, ids)

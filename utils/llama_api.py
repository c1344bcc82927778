"""llama.cpp's own endpoints, beside its OpenAI-compatible ``/v1``: one small client for them.

    server = LlamaAPI("http://127.0.0.1:8765/v1")
    server.tokenize("Hello")                          # [19556]
    server.apply_template([{"role": "user", "content": "Hi"}])   # the prompt the model reads

``/tokenize``, ``/detokenize``, ``/apply-template`` and ``/props`` answer JSON; ``/health``
answers with its status alone (200 when ready, 503 while the model loads); ``/metrics`` is
Prometheus text (served with ``--metrics``), read with prometheus-client's parser.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 120.0  # seconds; a busy CPU can be slow to answer


class LlamaAPIError(RuntimeError):
    """The server answered with an error status; asking again would get the same answer."""


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format → ``{name: value}`` (labels, if any, stay part of the name)."""
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
    return values


class LlamaAPI:
    """A llama.cpp server's own endpoints; ``url`` is its base URL, with or without ``/v1``."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = TIMEOUT) -> None:
        self.root = url.rstrip("/").removesuffix("/v1")  # these endpoints live beside /v1
        self.api_key = api_key
        self.timeout = timeout

    def _open(self, path: str, body: dict | None = None, timeout: float | None = None):
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.root + path, data=data, headers=headers)
        return urllib.request.urlopen(request, timeout=timeout or self.timeout)

    def request(self, path: str, body: dict | None = None) -> dict:
        """The JSON answer at ``path``: a POST of ``body`` as JSON, or a GET without one.

        An error status raises ``LlamaAPIError``; no answer at all, ``urllib.error.URLError``.
        """
        try:
            with self._open(path, body) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            message = error.read().decode(errors="replace")
            raise LlamaAPIError(
                f"The local model server answered {error.code} to {path}: {message}"
            ) from error

    def tokenize(self, text: str, special: bool = True, add_special: bool = False) -> list[int]:
        """Token ids of ``text``; with ``special``, markers like ``<|im_start|>`` are one token each.

        ``add_special`` adds what the model puts before a prompt (a BOS token, if it has one).
        """
        body = {"content": text, "parse_special": special}
        if add_special:
            body["add_special"] = True
        return self.request("/tokenize", body)["tokens"]

    def pieces(self, text: str) -> list[str]:
        """``text`` split into the model's tokens, as text pieces (no special tokens)."""
        tokens = self.request("/tokenize", {"content": text, "with_pieces": True})["tokens"]
        # a piece that is not valid UTF-8 on its own (part of a character) comes as a list of bytes
        return [
            t["piece"] if isinstance(t["piece"], str) else bytes(t["piece"]).decode(errors="replace")
            for t in tokens
        ]

    def detokenize(self, ids: list[int]) -> str:
        """The text of token ``ids`` (the inverse of ``tokenize``)."""
        return self.request("/detokenize", {"tokens": [int(i) for i in ids]})["content"]

    def apply_template(self, messages: list[dict]) -> str:
        """The prompt the model reads for ``messages``: its chat template, ending where the answer starts."""
        return self.request("/apply-template", {"messages": messages})["prompt"]

    def props(self) -> dict:
        """The server's properties: ``model_path``, ``eos_token``, ``chat_template_caps``, ..."""
        return self.request("/props")

    def health(self, timeout: float = 2.0) -> int | None:
        """The status of ``GET /health`` (public: no key needed); None if nothing answers."""
        try:
            with self._open("/health", timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code  # 503 while the model loads
        except OSError:
            return None

    def metrics(self, timeout: float = 5.0) -> dict[str, float]:
        """The server's Prometheus ``/metrics`` as ``{name: value}`` (it needs a key in a room)."""
        with self._open("/metrics", timeout=timeout) as response:
            return parse_metrics(response.read().decode())

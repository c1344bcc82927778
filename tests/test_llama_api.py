"""llama.cpp's own endpoints through ``utils.llama_api``, on the running local server."""

import socket

import pytest

from utils.conversation import ServerTokenCounter
from utils.llama_api import LlamaAPI, LlamaAPIError, parse_metrics


def test_metrics_keep_labels_in_the_name():
    text = '# TYPE slots gauge\nslots{state="idle"} 3\nslots{state="busy"} 1\nplain 2.5\n'
    assert parse_metrics(text) == {'slots{state="idle"}': 3, 'slots{state="busy"}': 1, "plain": 2.5}


def test_health_is_none_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    assert LlamaAPI(f"http://127.0.0.1:{port}/v1").health(timeout=1) is None


def test_endpoints_agree_with_each_other(local_settings):
    server = LlamaAPI(local_settings.base_url)
    assert server.health() == 200
    prompt = server.apply_template([{"role": "user", "content": "Hi"}])
    assert prompt.startswith("<|im_start|>") and server.props()["eos_token"] == "<|im_end|>"
    ids = server.tokenize("Hello there", special=False)
    assert server.detokenize(ids) == "Hello there" and "".join(server.pieces("Hello there")) == "Hello there"
    with pytest.raises(LlamaAPIError, match="400 to /apply-template"):
        server.request("/apply-template", {"messages": "not a list"})


def test_the_server_counter_asks_once_per_request(local_settings, monkeypatch):
    counter = ServerTokenCounter(local_settings.base_url)
    asked = []
    real = counter.server.request
    monkeypatch.setattr(counter.server, "request", lambda path, body=None: asked.append(path) or real(path, body))
    messages = [{"role": "user", "content": "Hi"}]
    assert counter.count(messages) == counter.count(messages) > 0
    assert asked == ["/apply-template", "/tokenize"]  # the second count came from the cache


def test_a_text_that_looks_like_a_request_is_not_taken_for_one():
    counter = ServerTokenCounter("http://127.0.0.1:9/v1")
    messages = [{"role": "user", "content": "Hi"}]
    counter.server.tokenize = lambda text, special: list(text)  # one "token" per character
    counter.server.apply_template = lambda messages: "<prompt>"
    as_json = '[{"content": "Hi", "role": "user"}]'  # the key count() files the request under
    assert counter.count_text(as_json) == len(as_json)
    assert counter.count(messages) == len("<prompt>")

"""The local model in this process: weights from the file the server serves, its tokenizer and template."""

import pytest

from utils.local_server import engine_file
from utils.rlhf import served_model


def test_weights_are_read_once_from_the_file_the_server_serves():
    weights = served_model.weights()
    assert served_model.weights() is weights  # cached: read once per process
    assert weights.path == engine_file.served_path()  # the bundled model, re-quantised
    assert weights.path == type(weights.path)(served_model.request("/props")["model_path"])


def test_template_and_tokens_come_from_the_server():
    prompt = served_model.chat_prompt([{"role": "user", "content": "Hi"}])
    assert prompt.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert served_model.end_of_turn() == "<|im_end|>"
    # special markers are one token in a prompt, plain text in a response
    assert served_model.tokenize("<|im_start|>user", special=True) == [1, 4093]
    assert len(served_model.tokenize("<|im_start|>user", special=False)) > 2
    assert served_model.pieces("Hello world") == ["Hello", " world"]


def test_a_server_that_moved_is_found_again():
    served_model._server["root"] = "http://127.0.0.1:9"  # a stale address: nothing listens there
    assert served_model.request("/tokenize", {"content": "Hi"})["tokens"] == [26843]
    assert served_model._server["root"] != "http://127.0.0.1:9"


def test_server_errors_are_raised_not_retried():
    with pytest.raises(RuntimeError, match="400 to /apply-template: .*Expected 'messages'"):
        served_model.request("/apply-template", {"messages": "not a list"})


def test_detokenize_inverts_tokenize():
    text = "Paris is the capital of France. 🍵"
    assert served_model.detokenize(served_model.tokenize(text, special=False)) == text

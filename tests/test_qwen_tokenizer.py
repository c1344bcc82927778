"""Qwen's tokenizer, offline, from the vocabulary file the dashscope SDK ships."""

import sys

import pytest

from utils import qwen_tokenizer
from utils.qwen_tokenizer import qwen_available, qwen_encode, qwen_pieces


def test_known_ids_of_the_published_qwen25_tokenizer():
    assert qwen_encode("Hello, world") == [9707, 11, 1879]
    # The start of Qwen2.5's default system turn, as its chat template renders it.
    assert qwen_encode("<|im_start|>system\nYou are Qwen") == [
        151644,
        8948,
        198,
        2610,
        525,
        1207,
        16948,
    ]
    assert qwen_encode("<|im_end|>") == [151645] and qwen_encode("<|endoftext|>") == [151643]


def test_pieces_show_how_text_is_split():
    assert qwen_pieces("9.11 or 9.8") == ["9", ".", "1", "1", " or", " ", "9", ".", "8"]
    assert "".join(qwen_pieces("The sea is wide.")) == "The sea is wide."


def test_text_is_nfc_normalised_as_the_sdk_does():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert qwen_encode(composed) == qwen_encode(decomposed)


def test_a_missing_tiktoken_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken now fails
    qwen_tokenizer._encoding.cache_clear()
    try:
        assert not qwen_available()
        with pytest.raises(ImportError, match="pip install tiktoken"):
            qwen_encode("hi")
    finally:
        qwen_tokenizer._encoding.cache_clear()
    monkeypatch.undo()
    assert qwen_available() and qwen_encode("hi")

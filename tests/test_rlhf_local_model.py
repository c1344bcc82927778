"""The in-process llama.cpp models: thread choice, one cached instance each, the chat template."""

import os
import sys

import pytest

from utils.local_server import LocalServerError
from utils.rlhf import local_model


def test_threads_all_cores_when_idle_one_when_busy(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert local_model.threads() == 4
    monkeypatch.setattr(os, "getloadavg", lambda: (6.0, 5.0, 5.0))
    assert local_model.threads() == 1


def test_models_are_loaded_once_and_template_matches_the_gguf():
    assert local_model.logits_model() is local_model.logits_model()
    assert local_model.embedding_model() is local_model.embedding_model()
    prompt = local_model.chat_template()(messages=[{"role": "user", "content": "Hi"}]).prompt
    assert prompt.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_missing_llama_cpp_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(LocalServerError, match="pip install"):
        local_model.llama_cpp_module()

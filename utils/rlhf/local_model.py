"""The local model in this process: llama.cpp loaded twice, once for log-probs, once for features.

Each loads the same ~100 MB GGUF as the server (``utils.local_server.model_path()``) on first
use and is cached: one instance of each per process.
"""

from __future__ import annotations

import contextlib
import functools
import os

from utils.local_server import model_path

N_CTX = 1024  # tokens; the log-prob model keeps N_CTX × 49,152 logits (~200 MB)


def threads() -> int:
    """CPU threads for llama.cpp: every core on an idle machine, one on a busy one.

    llama.cpp's threads wait for each other at every step; when other programs hold the
    cores, two threads were 7–13× slower than one here (73 tokens: 25–44 s vs 3.4 s).
    """
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return 1 if load >= cores else cores


def _load(**options):
    from llama_cpp import Llama

    n = threads()
    # llama.cpp prints a notice about pooling on load even when asked to be quiet
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        return Llama(
            model_path=str(model_path()),
            n_ctx=N_CTX,
            n_batch=N_CTX,
            n_threads=n,
            n_threads_batch=n,
            verbose=False,
            **options,
        )


@functools.cache
def logits_model():
    """llama.cpp keeping the logits of every position (for log-probs); loaded once."""
    return _load(logits_all=True)


@functools.cache
def embedding_model():
    """llama.cpp in embedding mode: the last hidden layer averaged over the tokens; loaded once."""
    import llama_cpp

    return _load(embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)


@functools.cache
def chat_template():
    """The model's own chat template, built as llama-cpp-python's server builds it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llama = logits_model()
    return Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=llama._model.token_get_text(llama.token_eos()),
        bos_token=llama._model.token_get_text(llama.token_bos()),
    )

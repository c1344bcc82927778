"""The local model in this process: llama.cpp loaded twice, once for log-probs, once for features.

Each loads the same ~100 MB GGUF as the server (``utils.local_server.model_path()``) on first
use and is cached: one instance of each per process.
"""

from __future__ import annotations

import contextlib
import functools
import os
from types import ModuleType
from typing import TYPE_CHECKING

from utils.local_model import INSTALL_HINT
from utils.local_model import LocalModelError as LocalServerError
from utils.local_model import gguf_path as model_path

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

N_CTX = 1024  # tokens; the log-prob model keeps N_CTX × 49,152 logits (~200 MB)


def threads() -> int:
    """CPU threads for llama.cpp: every core on an idle machine, one on a busy one.

    llama.cpp's threads wait for each other at every step; when other programs hold the
    cores, two threads were 7–13× slower than one here (73 tokens: 25–44 s vs 3.4 s).
    """
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return 1 if load >= cores else cores


def llama_cpp_module() -> ModuleType:
    """The ``llama_cpp`` module, or an error that says how to install it."""
    try:
        import llama_cpp
    except ImportError as error:
        raise LocalServerError(
            "llama-cpp-python is not installed, so the local model cannot run in this process. "
            f"Install it with:\n  {INSTALL_HINT}"
        ) from error
    return llama_cpp


def _load(**options) -> Llama:
    path = model_path()  # says how to install the model if it is missing
    Llama = llama_cpp_module().Llama
    n = threads()
    # llama.cpp prints a notice about pooling on load even when asked to be quiet
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        return Llama(
            model_path=str(path),
            n_ctx=N_CTX,
            n_batch=N_CTX,
            n_threads=n,
            n_threads_batch=n,
            verbose=False,
            **options,
        )


@functools.cache
def logits_model() -> Llama:
    """llama.cpp keeping the logits of every position (for log-probs); loaded once."""
    return _load(logits_all=True)


@functools.cache
def embedding_model() -> Llama:
    """llama.cpp in embedding mode: the last hidden layer averaged over the tokens; loaded once."""
    mean = llama_cpp_module().LLAMA_POOLING_TYPE_MEAN  # average over the tokens
    return _load(embedding=True, pooling_type=mean)


@functools.cache
def chat_template() -> Jinja2ChatFormatter:
    """The model's own chat template, built as llama-cpp-python's server builds it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llama = logits_model()
    return Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=llama._model.token_get_text(llama.token_eos()),
        bos_token=llama._model.token_get_text(llama.token_bos()),
    )

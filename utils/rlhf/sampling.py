"""Draw a response from the local model's own distribution: the server, every sampling knob off.

RL formulas such as the KL estimators assume the response was sampled from the policy
itself. A server's defaults reshape that distribution (llama.cpp's: temperature 0.8,
top_k 40, top_p 0.95, min_p 0.05), so here every knob is off: temperature 1, no top-k,
top-p, min-p, typical-p, XTC or DRY cut, no penalty, and a seed so the draw repeats.

Why the server and not numpy: generating takes one forward step per token. Measured on 2
busy cores (load 2–4, ``benchmarks/numpy_scoring.py``), one numpy step took 0.05–0.08 s
(13–21 tokens/s) while the server decoded 29–54 tokens/s in the same runs, and the server
already has the KV cache and the sampler. ``tests/test_rlhf_sampling.py`` checks that its
draws follow the numpy forward pass's probabilities.
"""

from __future__ import annotations

from utils.rlhf import served_model
from utils.rlhf.logprobs import Prompt, as_messages

NO_RESHAPING = {  # llama.cpp's names; each value switches its step off
    "temperature": 1.0,
    "top_k": 0,
    "top_p": 1.0,
    "min_p": 0.0,
    "typical_p": 1.0,
    "xtc_probability": 0.0,
    "dry_multiplier": 0.0,
    "top_n_sigma": -1.0,
    "mirostat": 0,
    "repeat_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}


def sample_response(prompt: Prompt, max_tokens: int = 40, seed: int = 0) -> str:
    """One response drawn from p(· | prompt) exactly as the model defines it (repeatable by ``seed``)."""
    body = {"messages": as_messages(prompt), "max_tokens": max_tokens, "seed": seed, **NO_RESHAPING}
    return served_model.request("/v1/chat/completions", body)["choices"][0]["message"]["content"]

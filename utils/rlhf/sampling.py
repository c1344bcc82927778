"""Draw a response from the local model's own distribution, in this process.

RL formulas such as the KL estimators assume the response was sampled from the policy
itself. A server's defaults reshape that distribution (llama-cpp-python's: top_k=40,
min_p=0.05, repeat_penalty=1.1), so here every such knob is off: temperature 1, no top-k,
top-p or min-p cut, no penalty.
"""

from __future__ import annotations

from utils.rlhf.local_model import logits_model
from utils.rlhf.logprobs import Prompt, as_messages


def sample_response(prompt: Prompt, max_tokens: int = 40, seed: int = 0) -> str:
    """One response drawn from p(· | prompt) exactly as the model defines it (repeatable by ``seed``)."""
    llama = logits_model()
    # Forget the cached prompt: re-using it evaluates tokens in different batches, whose
    # rounding can change a sampled token, so the same seed would not repeat.
    llama.reset()
    result = llama.create_chat_completion(
        messages=as_messages(prompt),
        max_tokens=max_tokens,
        temperature=1.0,
        top_k=0,  # 0 = keep every token
        top_p=1.0,
        min_p=0.0,
        repeat_penalty=1.0,
        seed=seed,
    )
    return result["choices"][0]["message"]["content"]

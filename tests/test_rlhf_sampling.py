"""sample_response draws from the model's own distribution: the server with every knob off."""

import numpy as np

from utils.rlhf import next_token_logprobs, sample_response, served_model
from utils.rlhf.sampling import NO_RESHAPING


def test_the_same_seed_repeats_and_another_seed_differs():
    prompt = "Name a colour."
    first = sample_response(prompt, max_tokens=8, seed=3)
    assert sample_response(prompt, max_tokens=8, seed=3) == first
    assert len({sample_response(prompt, max_tokens=8, seed=s) for s in range(6)}) > 1


def test_every_knob_that_reshapes_the_distribution_is_off():
    assert NO_RESHAPING["temperature"] == 1.0 and NO_RESHAPING["top_k"] == 0
    assert NO_RESHAPING["top_p"] == 1.0 and NO_RESHAPING["min_p"] == 0.0
    assert NO_RESHAPING["repeat_penalty"] == 1.0


def test_first_tokens_follow_the_numpy_forward_pass():
    prompt = "Name a colour."
    first = np.exp(next_token_logprobs(prompt, "x")[0])  # the distribution before any answer token
    top = int(np.argmax(first))
    draws = [sample_response(prompt, max_tokens=1, seed=s) for s in range(120)]
    hits = sum(bool(d) and served_model.tokenize(d, special=False)[:1] == [top] for d in draws)
    p = float(first[top])
    assert 0.05 < p < 0.95  # a real test: the top token is neither certain nor rare
    assert abs(hits / len(draws) - p) < 4 * np.sqrt(p * (1 - p) / len(draws)) + 0.02

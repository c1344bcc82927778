"""How closely our numpy log-probs must match llama.cpp's server on the served Q8_0 file.

The server multiplies the 8-bit weights by activations it rounds to 8 bits; numpy computes in
float32. Most tokens agree within a few hundredths of a nat, and a few positions move further,
by an amount that depends on the server's history: a fresh server and one that has served
the rest of the suite give different numbers for the same request (both seen here, on one
machine and one file; what in its state moves them was not pinned down). On greedy answers of
25–30 tokens:

- median per-token difference 0.020–0.029 nats on a fresh server (AMD EPYC without AVX-512,
  2026-12-07), 0.027 after the suite (here and in CI, "What is the capital of France?");
- largest per-token difference 0.10–0.17 nats fresh, 0.49 after the suite (one token; the next
  largest 0.15), 0.28 serving the shipped Q4_1;
- the sum within 0.010 nats per token fresh; after the suite above 0.03 (the differences
  there add to at most 0.059 per token).

So the typical token is held tightly (the median: a wrong formula moves every token) and one
outlier may sit at twice the largest seen. Served as float32 weights, the two agree within
0.006 nats per token (``tests/test_rlhf_forward.py``): the gap is the server's rounding.
"""

import numpy as np

MEDIAN_TOLERANCE = 0.06  # nats: the typical token (largest median seen: 0.029)
TOKEN_TOLERANCE = 1.0  # nats: any one token (largest seen: 0.49)
SUM_TOLERANCE = 0.1  # nats per token, on the whole answer's sum (largest seen: under 0.059)


def assert_agrees(ours: np.ndarray, server: np.ndarray) -> None:
    """Our per-token log-probs are the server's, within its rounding."""
    difference = np.abs(ours - server)
    assert np.median(difference) < MEDIAN_TOLERANCE, difference.round(3)
    assert difference.max() < TOKEN_TOLERANCE, difference.round(3)
    assert abs(ours.sum() - server.sum()) < SUM_TOLERANCE * len(ours), difference.round(3)

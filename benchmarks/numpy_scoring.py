"""Benchmark: scoring an answer with the numpy forward pass, and its agreement with the server.

    python benchmarks/numpy_scoring.py [--runs 5] [--float16]

For a few short questions the local server writes a greedy answer with its log-probs
(prompt + answer ≈ 60 tokens with SmolLM2's chat template). Each answer is then scored in
this process exactly as ``utils.rlhf.token_logprobs`` does (tokens from the server, one
forward pass, log-softmax), and the script prints:

* seconds per scored answer (median over ``--runs``; goal ≤ 0.5 s on 2 cores), with the
  forward pass alone beside it;
* agreement with the server: the largest per-token difference in nats, and the relative
  difference of the summed log-probs;
* seconds for one 1-token step, what each generated token would cost in numpy, beside the
  server's own decode rate (why ``sample_response`` asks the server);
* the time to read the weights, and the load average (run it on an otherwise idle machine).

``--float16`` keeps the weights as float16 (270 MB) instead of float32 (540 MB, the default
for a model this small).
numpy's BLAS uses ``utils.local_server.serving_threads()`` threads (every core on a quiet
machine, one fewer on a busy one); ``COOKBOOK_LOCAL_THREADS=N`` sets them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from utils.local_server import serving_threads
from utils.rlhf import served_model
from utils.rlhf.forward import ThreadpoolController, forward, logits
from utils.rlhf.gguf_weights import load_weights
from utils.rlhf.logprobs import encode
from utils.rlhf.toy_policy import log_softmax

QUESTIONS = [
    "Write a haiku about tea.",
    "What is the capital of France?",
    "Explain photosynthesis in two sentences.",
    "Name three primary colours.",
]


def greedy_answer(messages: list[dict], max_tokens: int) -> tuple[str, np.ndarray, float]:
    """The server's greedy answer, the log-prob of each of its text tokens, its decode rate."""
    body = {"messages": messages, "temperature": 0, "max_tokens": max_tokens, "logprobs": True,
            "top_logprobs": 1, "repeat_penalty": 1.0}  # fmt: skip
    response = served_model.request("/v1/chat/completions", body)
    choice = response["choices"][0]
    tokens = choice["logprobs"]["content"]
    if choice["finish_reason"] == "stop":
        tokens = tokens[:-1]  # the end-of-turn token is not part of the text
    rate = response.get("timings", {}).get("predicted_per_second", float("nan"))
    return choice["message"]["content"], np.array([t["logprob"] for t in tokens]), rate


def score(weights, messages: list[dict], answer: str) -> tuple[np.ndarray, float]:
    """Per-token log-probs of ``answer`` (as ``token_logprobs``) and the forward pass's seconds."""
    prompt_ids, answer_ids = encode(messages, answer)
    started = time.perf_counter()
    hidden = forward(weights, prompt_ids + answer_ids[:-1])
    rows = log_softmax(logits(weights, hidden[len(prompt_ids) - 1 :]))
    return rows[np.arange(len(answer_ids)), answer_ids], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="timed scorings of each answer")
    parser.add_argument("--max-tokens", type=int, default=25, help="answer length")
    parser.add_argument("--float16", action="store_true", help="keep the weights as float16")
    args = parser.parse_args()

    started = time.perf_counter()
    path = served_model.request("/props")["model_path"]
    weights = load_weights(path, np.float16 if args.float16 else None)
    load_seconds = time.perf_counter() - started

    totals, forwards, worst_token, worst_sum, lengths, rates = [], [], 0.0, 0.0, [], []
    for question in QUESTIONS:
        messages = [{"role": "user", "content": question}]
        answer, server, rate = greedy_answer(messages, args.max_tokens)
        rates.append(rate)
        prompt_ids, answer_ids = encode(messages, answer)
        lengths.append(len(prompt_ids) + len(answer_ids))
        ours, _ = score(weights, messages, answer)  # warm-up, and the agreement
        worst_token = max(worst_token, float(np.abs(ours - server).max()))
        worst_sum = max(worst_sum, abs(ours.sum() - server.sum()) / abs(server.sum()))
        for _ in range(args.runs):
            t0 = time.perf_counter()
            _, forward_seconds = score(weights, messages, answer)
            totals.append(time.perf_counter() - t0)
            forwards.append(forward_seconds)
    steps = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        logits(weights, forward(weights, [1]))
        steps.append(time.perf_counter() - t0)

    threads = serving_threads() if ThreadpoolController else "every core (no threadpoolctl)"
    print(f"model: {os.path.basename(path)}, weights stored as {weights.layers[0].wq.dtype}")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, BLAS threads {threads}"
    )
    print(f"reading the weights: {load_seconds:.1f} s")
    print(f"answers: {len(QUESTIONS)}, prompt + answer {min(lengths)}–{max(lengths)} tokens")
    print(f"seconds per scored answer (median): {statistics.median(totals):.3f} "
          f"(forward pass and log-softmax alone: {statistics.median(forwards):.3f})")  # fmt: skip
    print(f"largest per-token difference from the server: {worst_token:.3f} nats")
    print(f"largest relative difference of the summed log-probs: {worst_sum:.2%}")
    step = statistics.median(steps)
    print(f"one 1-token step (a generated token in numpy): {step:.3f} s, {1 / step:.0f} tokens/s; "
          f"the server decodes {statistics.median(rates):.0f} tokens/s")  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark: the shipped Q4_1 file beside the same weights re-quantised, in one run.

    python benchmarks/engine_formats.py [--formats IQ4_NL,Q4_0,Q8_0,F16] [--runs 5]

For the shipped file and each format ``gguf`` can write (``utils.local_server.engine_file``),
a throwaway server is started on that file (all at once, measured in turn), and this prints:

* prompt and decode tokens/s, llama.cpp's own ``timings`` (a ~580-token prompt, its cache
  off, 128 tokens out), medians of ``--runs`` rounds that visit every server in turn (the
  order reversed each round), and each ÷ the shipped file's;
* the log-prob difference from the shipped weights, per token, with the numpy forward pass
  as the oracle: ``weights`` compares numpy on this file with numpy on the shipped file
  (what re-quantising changes), ``served`` compares this server's own log-probs with numpy
  on the shipped file (re-quantising plus the server's 8-bit rounding; the shipped row
  shows that rounding alone). Both on the shipped server's greedy answers to ``QUESTIONS``;
* for the shipped file and the served format (``engine_file.DEFAULT_FORMAT``; all with
  ``--all-ratios``): 4 concurrent streams' aggregate tokens/s ÷ one stream's, and the eval
  runner's 4 workers ÷ 1 worker on the same MMLU-Pro questions (prompt-heavy work).

Threads: ``COOKBOOK_LOCAL_THREADS`` as for the course's server (default: every core on a
quiet machine). It measures, not tests: run it on an otherwise idle machine (the load
average is printed before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from utils import local_model
from utils.llama_api import LlamaAPI
from utils.local_server import engine_file, serving_threads, temporary_server

QUESTIONS = [
    "Write a haiku about tea.",
    "What is the capital of France?",
    "Explain photosynthesis in two sentences.",
    "Why is the sky blue?",
]
LONG_PROMPT = "Summarise the following notes in three bullet points.\n\n" + " ".join(
    f"Note {i}: the team met on day {i} and agreed that task {i % 7} needs "
    f"{i % 5 + 1} more reviewers before release {i // 10}."
    for i in range(24)
)
STREAM_PROMPTS = [
    "Explain in a few sentences what a mixture-of-experts model is.",
    "Write a short story about a lighthouse keeper.",
    "Describe how a bicycle works.",
    "What should I pack for a week of hiking?",
]


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def chat(base: str, content: str, max_tokens: int, **extra) -> dict:
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
            "temperature": 0, **extra}  # fmt: skip
    return post(base, "/v1/chat/completions", body)


def speeds(base: str, runs: int) -> tuple[float, float, int]:
    """Median prompt and decode tokens/s from llama.cpp's timings, and the prompt's length."""
    prompt, decode, n = [], [], 0
    for _ in range(runs):
        timings = chat(base, LONG_PROMPT, 128, ignore_eos=True, cache_prompt=False)["timings"]
        prompt.append(timings["prompt_per_second"])
        decode.append(timings["predicted_per_second"])
        n = timings["prompt_n"]
    return statistics.median(prompt), statistics.median(decode), n


def greedy(base: str, question: str) -> tuple[list[int], list[int], np.ndarray]:
    """The server's greedy answer: prompt ids, answer ids, its log-probs."""
    response = chat(base, question, 30, logprobs=True, top_logprobs=1, repeat_penalty=1.0)
    content = response["choices"][0]["logprobs"]["content"]
    messages = [{"role": "user", "content": question}]
    server = LlamaAPI(base, timeout=600)
    ids = server.tokenize(server.apply_template(messages), special=True, add_special=True)
    return ids, [t["id"] for t in content], np.array([t["logprob"] for t in content])


def numpy_logprobs(path: Path, answers: list) -> list[np.ndarray]:
    """The numpy forward pass's log-prob of each answer token, on the weights in ``path``."""
    from utils.rlhf.forward import blas_threads, forward, logits
    from utils.rlhf.gguf_weights import load_weights
    from utils.rlhf.toy_policy import log_softmax

    weights, out = load_weights(path), []
    with blas_threads():
        for prompt_ids, answer_ids, _ in answers:
            hidden = forward(weights, prompt_ids + answer_ids[:-1])
            rows = log_softmax(logits(weights, hidden[len(prompt_ids) - 1 :]))
            out.append(rows[np.arange(len(answer_ids)), answer_ids])
    del weights
    gc.collect()
    return out


def stream_ratio(base: str, max_tokens: int = 96) -> float:
    """Aggregate tokens/s of 4 requests at once ÷ one request's (equal work: ``ignore_eos``)."""

    def one(prompt: str) -> int:
        return chat(base, prompt, max_tokens, ignore_eos=True)["usage"]["completion_tokens"]

    def rate(streams: int) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(streams) as pool:
            tokens = sum(pool.map(one, STREAM_PROMPTS[:streams]))
        return tokens / (time.perf_counter() - started)

    one_a, four_a, four_b, one_b = rate(1), rate(4), rate(4), rate(1)  # 1-4-4-1: drift cancels
    return (four_a + four_b) / (one_a + one_b)


def runner_ratio(base: str, items: int = 12) -> float:
    """``utils.evals.run`` on MMLU-Pro questions: seconds with 1 worker ÷ with 4 (new questions each)."""
    import openai
    from eval_throughput import mcq_requests  # beside this file

    from utils.evals import run

    async def timed(part: int, workers: int) -> float:
        client = openai.AsyncOpenAI(base_url=base + "/v1", api_key="local")
        requests = mcq_requests(local_model.BUNDLED.alias, items, 16, part, 4)
        started = time.perf_counter()
        await run(requests, client, concurrency=workers, progress=False)
        await client.close()
        return time.perf_counter() - started

    async def both() -> float:
        four_a, one_a = await timed(0, 4), await timed(1, 1)  # 4-1-1-4: a steady drift in
        one_b, four_b = await timed(2, 1), await timed(3, 4)  # load affects both alike
        return (one_a + one_b) / (four_a + four_b)

    return asyncio.run(both())


def measure_speeds(bases: dict, runs: int) -> tuple[dict, int]:
    """Prompt and decode tokens/s of every server, in rounds that visit all of them in turn.

    The order reverses every round (A B C, C B A, ...), so a load that rises or falls during
    the run weighs on every file alike: the ×-ratios are side by side, not hours apart.
    """
    samples, n = {name: ([], []) for name in bases}, 0
    for round_ in range(runs):
        for name in list(bases)[:: 1 if round_ % 2 == 0 else -1]:
            prompt, decode, n = speeds(bases[name], 1)
            samples[name][0].append(prompt)
            samples[name][1].append(decode)
    medians = {k: (statistics.median(p), statistics.median(d)) for k, (p, d) in samples.items()}
    return medians, n


def log_prob_rows(files: dict, answers: dict) -> dict:
    """Per file: the log-prob differences, max and mean, from numpy on the shipped weights."""
    shipped = next(iter(files.values()))
    reference = answers[next(iter(files))]  # the shipped server's answers: the texts scored
    oracle, rows = numpy_logprobs(shipped, reference), {}
    for name, path in files.items():
        mine = oracle if path == shipped else numpy_logprobs(path, reference)
        weights = np.concatenate([np.abs(a - b) for a, b in zip(mine, oracle, strict=True)])
        # the server's log-probs on its own greedy answers, against numpy on the shipped weights
        own = answers[name]
        on_own = oracle if own is reference else numpy_logprobs(shipped, own)
        served = np.concatenate([np.abs(o[2] - s) for o, s in zip(own, on_own, strict=True)])
        rows[name] = {"weights": weights.max(), "weights_mean": weights.mean(),
                      "served": served.max(), "served_mean": served.mean()}  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", default="IQ4_NL,Q4_0,Q8_0,F16")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--all-ratios", action="store_true")
    parser.add_argument("--items", type=int, default=12, help="questions per eval-runner run")
    args = parser.parse_args()
    shipped = local_model.bundled_path()
    files = {"shipped " + shipped.name.split(".")[-2]: shipped}
    for fmt in args.formats.split(","):
        files[fmt.strip().upper()] = engine_file.prepared(shipped, fmt.strip().upper())
    served = engine_file.DEFAULT_FORMAT
    print(f"{os.cpu_count()} cores, {serving_threads()} server threads, load average "
          f"{os.getloadavg()[0]:.2f} before")  # fmt: skip
    rows = {name: {"MB": path.stat().st_size / 1e6} for name, path in files.items()}
    with contextlib.ExitStack() as stack:  # every file served at once; idle servers cost no CPU
        bases = {name: stack.enter_context(temporary_server(gguf=path)).base_url.removesuffix("/v1")
                 for name, path in files.items()}  # fmt: skip
        medians, n = measure_speeds(bases, args.runs)
        print(f"  speeds measured, load average {os.getloadavg()[0]:.2f}", flush=True)
        answers = {name: [greedy(base, q) for q in QUESTIONS] for name, base in bases.items()}
        for name, base in bases.items():
            rows[name]["prompt"], rows[name]["decode"] = medians[name]
            if args.all_ratios or name.startswith("shipped") or name == served:
                rows[name]["streams"] = stream_ratio(base)
                rows[name]["runner"] = runner_ratio(base, args.items)
                print(f"  ratios of {name} measured, load average {os.getloadavg()[0]:.2f}",
                      flush=True)  # fmt: skip
    for name, row in log_prob_rows(files, answers).items():
        rows[name].update(row)

    base_row = next(iter(rows.values()))
    print(
        f"\nprompt {n} tokens (cache off), 128 decoded, median of {args.runs} rounds; "
        "log-prob differences from numpy on the shipped weights, nats per token (max / mean)"
    )
    print(f"{'file':<14} {'MB':>6} {'prompt t/s':>11} {'×':>6} {'decode t/s':>11} {'×':>6} "
          f"{'weights Δ':>15} {'served Δ':>15} {'4 streams ×':>12} {'runner 4/1 ×':>13}")  # fmt: skip
    for name, r in rows.items():
        ratios = (f"{r['streams']:>12.2f} {r['runner']:>13.2f}" if "streams" in r else
                  f"{'-':>12} {'-':>13}")  # fmt: skip
        print(f"{name:<14} {r['MB']:>6.0f} {r['prompt']:>11.1f} {r['prompt'] / base_row['prompt']:>6.2f} "
              f"{r['decode']:>11.1f} {r['decode'] / base_row['decode']:>6.2f} "
              f"{r['weights']:>7.3f} / {r['weights_mean']:.3f} {r['served']:>7.3f} / {r['served_mean']:.3f} "
              f"{ratios}")  # fmt: skip
    print(
        f"served by the course: {served} (goals: prompt ×1.8 the shipped file's, "
        "4 streams ×1.6, runner ×1.5)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: the local model in-process vs through the server and the openai client.

    python benchmarks/local_throughput.py [--runs 7] [--max-tokens 128]

Generates the same greedy answer both ways and prints tokens/s, the ratio server/in-process
(goal ≥ 0.9: the HTTP layer should cost little) and the time to first token when streaming.
Run it on an otherwise idle machine; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from llama_cpp import Llama

from utils import local_server
from utils.clients import get_client
from utils.settings import Secret, Settings

# llama-cpp-python's server applies repeat_penalty=1.1 unless a request says otherwise; the
# in-process calls use the same value so both paths generate the same tokens.
SERVER_DEFAULTS = {"repeat_penalty": 1.1}
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Explain in a few sentences what a mixture-of-experts model is."},
]


def timed(generate) -> tuple[float, int]:
    started = time.perf_counter()
    tokens = generate()
    return time.perf_counter() - started, tokens


def first_token_seconds(chunks) -> float:
    started = time.perf_counter()
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            elapsed = time.perf_counter() - started
            break
    for _ in chunks:  # drain, so the next run starts clean
        pass
    return elapsed


def in_process_first_token(llm: Llama, max_tokens: int) -> float:
    started = time.perf_counter()
    stream = llm.create_chat_completion(
        MESSAGES, temperature=0, max_tokens=max_tokens, stream=True, **SERVER_DEFAULTS
    )
    for chunk in stream:
        if chunk["choices"][0]["delta"].get("content"):
            elapsed = time.perf_counter() - started
            break
    for _ in stream:
        pass
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    texts: dict[str, str] = {}

    llm = Llama(
        model_path=str(local_server.model_path()),
        n_ctx=local_server.CONTEXT_WINDOW,
        n_threads=threads,
        n_threads_batch=threads,
        seed=local_server.SEED,
        verbose=False,
    )

    def in_process() -> int:
        out = llm.create_chat_completion(
            MESSAGES, temperature=0, max_tokens=args.max_tokens, **SERVER_DEFAULTS
        )
        texts["in-process"] = out["choices"][0]["message"]["content"]
        return out["usage"]["completion_tokens"]

    base_url = local_server.ensure_running()
    settings = Settings("local", base_url, local_server.MODEL_ALIAS, Secret("local"), "benchmark")
    client = get_client(settings)

    def via_server() -> int:
        response = client.chat.completions.create(
            model=settings.model, messages=MESSAGES, temperature=0, max_tokens=args.max_tokens
        )
        texts["server + openai"] = response.choices[0].message.content
        return response.usage.completion_tokens

    in_process(), via_server()  # warm up both (model pages, prompt cache)
    # Interleave the two paths so drifting machine load affects both alike.
    runs: dict[str, list[tuple[float, int]]] = {"in-process": [], "server + openai": []}
    for _ in range(args.runs):
        runs["in-process"].append(timed(in_process))
        runs["server + openai"].append(timed(via_server))
    results = {}
    for name, measured in runs.items():
        results[name] = statistics.median(tokens / seconds for seconds, tokens in measured)
        print(
            f"{name:>16}: {results[name]:6.1f} tokens/s (median of {args.runs}, "
            f"{measured[0][1]} tokens each)"
        )

    ttft_local = statistics.median(
        in_process_first_token(llm, args.max_tokens) for _ in range(args.runs)
    )
    ttft_server = statistics.median(
        first_token_seconds(
            client.chat.completions.create(
                model=settings.model,
                messages=MESSAGES,
                temperature=0,
                max_tokens=args.max_tokens,
                stream=True,
            )
        )
        for _ in range(args.runs)
    )
    same = texts["in-process"] == texts["server + openai"]
    print(f"same text both ways: {same}")
    ratio = results["server + openai"] / results["in-process"]
    print(f"ratio server/in-process: {ratio:.2f} (goal ≥ 0.9)")
    print(
        f"time to first token: in-process {ttft_local * 1000:.0f} ms, "
        f"server {ttft_server * 1000:.0f} ms ({threads} threads)"
    )


if __name__ == "__main__":
    main()

"""Benchmark: evaluation throughput of ``utils.evals.run`` against the local model server.

    python benchmarks/eval_throughput.py [--items 50] [--max-tokens 16]

The same multiple-choice run (MMLU-Pro sample, one question per category in turn) is timed
cold at concurrency 4 (empty cache), again with the cache filled (goal: ≥ 50× faster and zero
model calls), then cold at concurrency 1, 4 and 1 again (interleaved, so a change in machine
load affects both settings). Model calls are counted at the HTTP layer (every request the
client sends), not inferred from the runner. The local server decodes up to 4 requests at
once (4 slots), so concurrency 4 should beat 1 (goal ≥ 1.5×) while each call takes longer;
against a remote API concurrency pays more still. The machine's load average is printed
before and after: run it on an otherwise idle machine; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import openai

from utils import get_async_client, load_settings
from utils.datasets import load_mmlu_pro
from utils.evals import ResponseCache, extract_choice, format_mcq, run


def mcq_requests(model: str, items: int, max_tokens: int) -> list[dict]:
    """``items`` questions, taking the categories in turn so every category is represented."""
    questions = load_mmlu_pro()
    by_category: dict[str, list[dict]] = {}
    for question in questions:
        by_category.setdefault(question["category"], []).append(question)
    ordered = [q for row in zip(*by_category.values(), strict=False) for q in row]
    return [
        {
            "model": model,
            "messages": format_mcq(q["question"], q["options"], q["category"]),
            "max_tokens": max_tokens,
            "temperature": 0,
        }  # fmt: skip
        for q in ordered[:items]
    ]


async def timed_run(requests, cache_path: Path, concurrency: int) -> tuple[float, int, list]:
    """Run once; return wall seconds, HTTP requests sent, and the outcomes."""
    sent = []

    async def count(request):  # an httpx event hook: called for every request the client sends
        sent.append(request.url)

    http_client = openai.DefaultAsyncHttpx2Client(event_hooks={"request": [count]})
    client = get_async_client(load_settings(), http_client=http_client)
    cache = ResponseCache(cache_path)
    started = time.perf_counter()
    outcomes = await run(requests, client, cache=cache, concurrency=concurrency, progress=False)
    seconds = time.perf_counter() - started
    cache.close()
    await client.close()
    return seconds, len(sent), outcomes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    settings = load_settings()
    requests = mcq_requests(settings.model, args.items, args.max_tokens)
    folder = Path(tempfile.mkdtemp(prefix="eval-throughput-"))

    await timed_run(requests[:1], folder / "warmup.sqlite", 1)  # load the model, warm up
    runs = [
        ("cold, concurrency 4", folder / "a.sqlite", 4),
        ("cached re-run", folder / "a.sqlite", 4),
        ("cold, concurrency 1", folder / "b.sqlite", 1),
        ("cold, concurrency 4 (again)", folder / "c.sqlite", 4),
        ("cold, concurrency 1 (again)", folder / "d.sqlite", 1),
    ]
    results = {}
    print(f"{len(requests)} MMLU-Pro questions, max_tokens={args.max_tokens}, {settings.model}; "
          f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'run':<28} {'seconds':>8} {'model calls':>12} {'questions/s':>12} {'s per call':>11}")
    for name, path, concurrency in runs:
        seconds, calls, outcomes = await timed_run(requests, path, concurrency)
        results[name] = (seconds, calls, outcomes)
        errors = sum(o.error is not None for o in outcomes)
        note = f"  ({errors} errors)" if errors else ""
        per_call = sum(o.seconds for o in outcomes) / len(outcomes)  # cache hits: original call
        print(f"{name:<28} {seconds:>8.2f} {calls:>12} {len(requests) / seconds:>12.2f} "
              f"{per_call:>11.2f}{note}")  # fmt: skip

    cold, _, first = results["cold, concurrency 4"]
    cached, cached_calls, again = results["cached re-run"]
    same = [o.text for o in again] == [o.text for o in first]
    print(f"\ncache speed-up: ×{cold / cached:.0f} (goal ≥ 50), model calls on re-run: "
          f"{cached_calls} (goal 0), identical answers: {same}")  # fmt: skip
    one = results["cold, concurrency 1"][0] + results["cold, concurrency 1 (again)"][0]
    four = cold + results["cold, concurrency 4 (again)"][0]
    print(f"concurrency 4 vs 1 on the local server (two runs each): ×{one / four:.2f} faster")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    read = sum(extract_choice(o.text, 10) is not None for o in first)
    print(f"answers with a readable letter A–J: {read} of {len(first)}")


if __name__ == "__main__":
    os.environ.setdefault("COOKBOOK_PROVIDER", "local")  # a benchmark of the local server
    asyncio.run(main())

"""Benchmark: evaluation throughput of ``utils.evals.run`` against the local model server.

    python benchmarks/eval_throughput.py [--items 34] [--max-tokens 16]

A multiple-choice run (MMLU-Pro sample, the categories in turn) is timed cold at concurrency
4 (empty cache), again with the cache filled (goal: ≥ 50× faster and zero model calls), then
cold at concurrency 1, 1 again and 4 again (4-1-1-4, so a load that changes steadily during
the runs affects both settings alike). Each cold run asks its own quarter of the sample: the
server reuses prompts it has computed before, so asking the same questions again would time
its prompt cache, not a first run. Restart the server before measuring for the same reason.
Model calls are counted at the HTTP layer (every request the client sends), not inferred
from the runner. The local server decodes up to 4 requests at once (4 slots), so concurrency
4 should beat 1 (goal ≥ 1.5×) while each call takes longer; against a remote API concurrency
pays more still. The load average is printed before and after: run it on an otherwise idle
machine; it is a measurement, not a test.
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


def mcq_requests(model: str, items: int, max_tokens: int, part: int, parts: int) -> list[dict]:
    """``items`` questions of one ``part`` of the sample (every ``parts``-th question, taking the
    categories in turn, so each part covers every category and no two parts share a question).

    A server that has seen a prompt before can reuse its computation (llama.cpp keeps earlier
    prompts and reused almost all of them when every run asked the same questions), so each
    cold run gets questions no earlier run asked: it computes its prompts, as a first run does.
    """
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
        for q in ordered[part::parts][:items]
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
    parser.add_argument("--items", type=int, default=34, help="questions per run (140 / 4 at most)")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    settings = load_settings()
    folder = Path(tempfile.mkdtemp(prefix="eval-throughput-"))
    await timed_run(mcq_requests(settings.model, 1, args.max_tokens, 139, 140), folder / "w.sqlite", 1)
    runs = [  # (name, cache file, concurrency, which part of the sample it asks)
        ("cold, concurrency 4", folder / "a.sqlite", 4, 0),
        ("cached re-run", folder / "a.sqlite", 4, 0),
        ("cold, concurrency 1", folder / "b.sqlite", 1, 1),
        ("cold, concurrency 1 (again)", folder / "c.sqlite", 1, 2),
        ("cold, concurrency 4 (again)", folder / "d.sqlite", 4, 3),
    ]  # 4, 1, 1, 4: a load that rises or falls steadily during the runs affects both alike
    results = {}
    print(f"{args.items} MMLU-Pro questions per run (a different {args.items} in each cold run), "
          f"max_tokens={args.max_tokens}, {settings.model}; "
          f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'run':<28} {'seconds':>8} {'model calls':>12} {'questions/s':>12} {'s per call':>11} "
          f"{'prompt tokens':>14}")  # fmt: skip
    for name, path, concurrency, part in runs:
        run_requests = mcq_requests(settings.model, args.items, args.max_tokens, part, 4)
        seconds, calls, outcomes = await timed_run(run_requests, path, concurrency)
        results[name] = (seconds, calls, outcomes)
        errors = sum(o.error is not None for o in outcomes)
        note = f"  ({errors} errors)" if errors else ""
        per_call = sum(o.seconds for o in outcomes) / len(outcomes)  # cache hits: original call
        prompt_tokens = sum(o.prompt_tokens or 0 for o in outcomes)
        print(f"{name:<28} {seconds:>8.2f} {calls:>12} {len(outcomes) / seconds:>12.2f} "
              f"{per_call:>11.2f} {prompt_tokens:>14,}{note}")  # fmt: skip

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

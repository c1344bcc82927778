"""Benchmark: the local model server, through the openai client the notebooks use.

    python benchmarks/local_throughput.py [--runs 5] [--max-tokens 128]

Prints, as medians over ``--runs`` interleaved rounds:

* single stream: tokens/s seen by the client (first to last token, and end to end) ÷ the
  engine's own decode rate (``timings.predicted_per_second``; goal ≥ 0.9: HTTP costs little);
* 4 concurrent streams: aggregate tokens/s ÷ one stream's (goal ≥ 1.6: slots pay off);
* time to first token.

Every answer is exactly ``--max-tokens`` long (``ignore_eos``), so the rounds do equal work.
Run it on an otherwise idle machine (it prints the load average); it measures, not tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from utils import get_async_client, load_settings
from utils.local_server import PARALLEL

PROMPTS = [
    "Explain in a few sentences what a mixture-of-experts model is.",
    "Write a short story about a lighthouse keeper.",
    "Describe how a bicycle works.",
    "What should I pack for a week of hiking?",
]


async def stream_once(client, model: str, prompt: str, max_tokens: int) -> dict:
    """One greedy streamed answer: client-side timings and the engine's own decode rate."""
    started = time.perf_counter()
    first = last = None
    engine_rate = None
    tokens = 0
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},  # always max_tokens long: equal work every round
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
        timings = (chunk.model_extra or {}).get("timings")
        if timings:
            engine_rate = timings.get("predicted_per_second", engine_rate)
    ended = time.perf_counter()
    return {
        "tokens": tokens,
        "first_token_s": first - started,
        "decode_rate": (tokens - 1) / (last - first),
        "end_to_end_rate": tokens / (ended - started),
        "engine_rate": engine_rate,
        "seconds": ended - started,
    }


async def concurrent(client, model: str, n: int, max_tokens: int) -> float:
    """Aggregate tokens/s of ``n`` streams sent at once."""
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(stream_once(client, model, PROMPTS[i % len(PROMPTS)], max_tokens) for i in range(n))
    )
    return sum(r["tokens"] for r in runs) / (time.perf_counter() - started)


async def main(runs: int, max_tokens: int) -> None:
    settings = load_settings()
    if not settings.is_local:
        raise SystemExit("This benchmark measures the local server: unset DASHSCOPE_API_KEY/OPENAI_BASE_URL.")
    client = get_async_client(settings)
    print(f"{settings.model} at {settings.base_url}, {PARALLEL} slots, {os.cpu_count()} cores")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    await stream_once(client, settings.model, PROMPTS[0], 16)  # warm-up
    singles, aggregates = [], []
    for _ in range(runs):  # interleaved, so a change in load affects both alike
        singles.append(await stream_once(client, settings.model, PROMPTS[0], max_tokens))
        aggregates.append(await concurrent(client, settings.model, 4, max_tokens))
    median = statistics.median
    decode = median(r["decode_rate"] for r in singles)
    end_to_end = median(r["end_to_end_rate"] for r in singles)
    engine = median(r["engine_rate"] for r in singles if r["engine_rate"])
    single_aggregate = median(r["tokens"] / r["seconds"] for r in singles)
    print(f"\nsingle stream, {max_tokens} tokens, median of {runs}:")
    print(f"  engine decode (timings.predicted_per_second)  {engine:6.1f} tokens/s")
    print(f"  client, first to last token                    {decode:6.1f} tokens/s  ratio {decode / engine:.2f} (goal ≥ 0.9)")
    print(f"  client, end to end (prompt included)           {end_to_end:6.1f} tokens/s  ratio {end_to_end / engine:.2f}")
    print(f"  time to first token                            {median(r['first_token_s'] for r in singles) * 1000:6.0f} ms")
    four = median(aggregates)
    print(f"4 concurrent streams: {four:.1f} tokens/s aggregate, ×{four / single_aggregate:.2f} one stream's (goal ≥ 1.6)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.max_tokens))

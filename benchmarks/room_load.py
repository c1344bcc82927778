"""Benchmark: one room server, many simulated learners, and faults that must not hurt them.

    python benchmarks/room_load.py [--learners 10,20,30] [--parallel 8] [--slots 4,8,16]
                                   [--think 0] [--max-tokens 48] [--time-limit 1500]

Starts its own room engine (``utils.room``) on 127.0.0.1 only, with a key per simulated
learner. Each learner runs a notebook-like sequence with its own key and client: a chat call,
a stream, a JSON-mode call and a two-turn conversation (streamed, like a chat widget), then
stops. It reports requests served, errors (goal 0), p50/p95 time to first token (streamed
requests), p50/p95 total latency and aggregate tokens/s for each room size; optionally the same
room size at several slot counts (``--slots``); then faults while learners keep working: a
client killed mid-stream, a wrong key, a prompt over the context limit, a burst above the slot
count. Bounded: a fixed number of requests, a timeout per request and one deadline for the
run. It is a measurement, not a test; note the machine's load (printed) beside its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai

from utils import local_model
from utils.clients import MAX_RETRIES
from utils.local_server.process import cpu_seconds, rss_mb
from utils.room.roster import Learner, RoomFiles, with_learners
from utils.room.server import LOOPBACK, start_engine, stop_engine
from utils.room.watch import LogCounter, read_metrics

REQUEST_TIMEOUT = 180.0  # seconds; a request slower than this counts as an error
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


@dataclass
class Result:
    learner: str
    step: str
    ok: bool
    seconds: float
    ttft: float | None = None  # streamed requests only
    tokens: int = 0
    error: str = ""
    sent: int = 1  # HTTP requests sent for it: more than 1 when the client retried


async def _stream(client, model, messages, max_tokens) -> tuple[float | None, int, str]:
    started = time.perf_counter()
    ttft, tokens, text = None, 0, []
    stream = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            ttft = ttft if ttft is not None else time.perf_counter() - started
            text.append(chunk.choices[0].delta.content)
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return ttft, tokens, "".join(text)


async def step_chat(client, model, max_tokens, memory):
    messages = [SYSTEM, {"role": "user", "content": "Explain in two sentences what an API is."}]
    response = await client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)
    return None, response.usage.completion_tokens


async def step_stream(client, model, max_tokens, memory):
    messages = [{"role": "user", "content": "Write a short poem about the sea."}]
    ttft, tokens, _ = await _stream(client, model, messages, max_tokens)
    return ttft, tokens


async def step_json(client, model, max_tokens, memory):
    messages = [SYSTEM, {"role": "user", "content": "Describe a book as a JSON object with keys title, author and year."}]
    response = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, response_format={"type": "json_object"}
    )
    return None, response.usage.completion_tokens


async def step_turn_1(client, model, max_tokens, memory):
    memory[:] = [SYSTEM, {"role": "user", "content": "My name is Ada. What is a token in a language model?"}]
    ttft, tokens, text = await _stream(client, model, memory, max_tokens)
    memory.append({"role": "assistant", "content": text})
    return ttft, tokens


async def step_turn_2(client, model, max_tokens, memory):
    memory.append({"role": "user", "content": "What is my name, and how many tokens did your answer use?"})
    ttft, tokens, _ = await _stream(client, model, memory, max_tokens)
    return ttft, tokens


STEPS = [
    ("chat", step_chat),
    ("stream", step_stream),
    ("json", step_json),
    ("turn 1", step_turn_1),
    ("turn 2", step_turn_2),
]


async def learner(url, model, who: Learner, steps: int, max_tokens: int, think: float,
                  rng: random.Random, retries: int = MAX_RETRIES) -> list[Result]:  # fmt: skip
    """One learner: the notebook-like sequence (its first ``steps`` calls), with its own key.

    The client retries like the notebooks' (``utils.clients.MAX_RETRIES``); every HTTP request
    it sends is counted, so a retried request shows. ``retries=0`` counts every failure.
    """
    sent = [0]

    async def count(request) -> None:  # an httpx event hook: every request the client sends
        sent[0] += 1

    http = openai.DefaultAsyncHttpx2Client(event_hooks={"request": [count]})
    client = openai.AsyncOpenAI(base_url=url, api_key=who.api_key, max_retries=retries,
                                timeout=REQUEST_TIMEOUT, http_client=http)  # fmt: skip
    results, memory = [], []
    try:
        for name, step in STEPS[:steps]:
            if think:
                await asyncio.sleep(rng.uniform(0, think))  # reading the next cell
            started, before = time.perf_counter(), sent[0]
            try:
                ttft, tokens = await step(client, model, max_tokens, memory)
                result = Result(who.name, name, True, time.perf_counter() - started, ttft, tokens)
            except Exception as error:  # every failure is a result, not a crash of the benchmark
                text = f"{name}: {type(error).__name__}: {str(error)[:120]}"
                if error.__cause__ is not None:  # e.g. what a connection error really was
                    text += f" ({type(error.__cause__).__name__}: {str(error.__cause__)[:80]})"
                result = Result(who.name, name, False, time.perf_counter() - started, error=text)
                if name == "turn 1":
                    memory.append({"role": "assistant", "content": ""})
            result.sent = sent[0] - before
            results.append(result)
    finally:
        await client.close()
    return results


async def room_run(url, model, learners: list[Learner], steps=5, max_tokens=48,
                   think=0.0, seed=0, retries=MAX_RETRIES) -> tuple[list[Result], float]:  # fmt: skip
    """Every learner at once; returns all results and the wall time."""
    rng = random.Random(seed)
    started = time.perf_counter()
    runs = [learner(url, model, who, steps, max_tokens, think, random.Random(rng.random()), retries)
            for who in learners]  # fmt: skip
    results = [r for batch in await asyncio.gather(*runs) for r in batch]
    return results, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(results: list[Result], wall: float) -> dict:
    ok = [r for r in results if r.ok]
    ttfts = [r.ttft for r in ok if r.ttft is not None]
    latencies = [r.seconds for r in ok]
    return {
        "requests": len(results),
        "served": len(ok),
        "errors": len(results) - len(ok),
        "resent": sum(r.sent - 1 for r in results if r.sent > 1),
        "error_kinds": sorted({r.error for r in results if not r.ok}),
        "ttft_p50": percentile(ttfts, 50),
        "ttft_p95": percentile(ttfts, 95),
        "latency_p50": percentile(latencies, 50),
        "latency_p95": percentile(latencies, 95),
        "tokens": sum(r.tokens for r in ok),
        "tokens_per_s": sum(r.tokens for r in ok) / wall if wall else math.nan,
        "wall_s": wall,
    }


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())  # as /proc/loadavg shows it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class Room:
    url: str
    model: str
    files: RoomFiles
    learners: list[Learner]
    instructor: str
    engine: subprocess.Popen
    parallel: int
    context: int


@contextlib.contextmanager
def room_engine(folder: Path, learners: int, parallel: int, connections: int | None = None,
                threads: int = 0) -> Iterator[Room]:  # fmt: skip
    """A room engine on loopback with ``learners`` keys; stopped on exit."""
    files = RoomFiles(folder)
    port = free_port()
    url = f"http://{LOOPBACK}:{port}/v1"
    roster = with_learners(files.learners(), learners)
    files.save(roster, url)
    files.log.write_text("")
    model = local_model.selected()
    engine = start_engine(files, LOOPBACK, port, parallel, model, connections=connections,
                          threads=threads)  # loopback only
    try:
        yield Room(url, model.alias, files, roster, files.instructor(), engine, parallel, model.context_window)
    finally:
        stop_engine(engine)


async def measured(room: Room, count: int, **options) -> dict:
    """One phase: ``count`` learners at once, with the engine's CPU use and the machine's load."""
    load_before, cpu_before = load_average(), cpu_seconds(room.engine.pid)
    results, wall = await room_run(room.url, room.model, room.learners[:count], **options)
    row = summary(results, wall)
    command = list(room.engine.args)
    row.update(learners=count, slots=room.parallel, http_threads=int(command[command.index("--http-threads") + 1]),
               cpu_threads=int(command[command.index("--threads") + 1]) or os.cpu_count(),
               load_before=load_before, load_after=load_average(),
               engine_cores=(cpu_seconds(room.engine.pid) - cpu_before) / wall,
               engine_rss_mb=rss_mb(room.engine.pid))  # fmt: skip
    return row


# ---- faults -------------------------------------------------------------------------------

KILLED_CLIENT = """
import os, openai
client = openai.OpenAI(base_url=os.environ["ROOM_URL"], api_key=os.environ["ROOM_KEY"], max_retries=0,
                       timeout=180)
stream = client.chat.completions.create(model=os.environ["ROOM_MODEL"], stream=True, max_tokens=400,
    messages=[{"role": "user", "content": "Tell me a very long story about a lighthouse keeper."}])
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print("token", flush=True)
"""


def fault_killed_client(room: Room, who: Learner) -> dict:
    """A client process killed (SIGKILL) after its third streamed token."""
    log = LogCounter(room.files.log)
    log.update()
    before = log.counts["request dropped unfinished"]
    env = {**os.environ, "ROOM_URL": room.url, "ROOM_KEY": who.api_key, "ROOM_MODEL": room.model}
    client = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT], env=env, stdout=subprocess.PIPE,
                              text=True, start_new_session=True)  # fmt: skip
    tokens = 0
    try:
        for line in client.stdout:  # bounded: the client stops at 400 tokens
            tokens += line.strip() == "token"
            if tokens == 3:
                break
    finally:
        client.kill()
        client.wait(timeout=30)
    killed = time.perf_counter()
    dropped = None
    while time.perf_counter() - killed < 60:
        if log.update()["request dropped unfinished"] > before:
            dropped = time.perf_counter() - killed
            break
        time.sleep(0.1)
    return {"tokens_before_kill": tokens, "engine_dropped_it_after_s": dropped}


def _http(url: str, key: str | None, body: dict | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:  # refused or reset: the engine is restarting
        return 0, str(error)


def fault_wrong_key(room: Room) -> dict:
    """A learner with a wrong key, and one with none: every endpoint but /health says 401."""
    root = room.url.removesuffix("/v1")
    chat = {"model": room.model, "stream": True, "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello"}]}  # fmt: skip
    answers = {}
    for key_name, key in (("wrong key", "room-" + "x" * 43), ("no key", None)):
        for path, body in (("/v1/chat/completions", chat), ("/v1/models", None), ("/metrics", None),
                           ("/slots", None), ("/props", None), ("/health", None)):  # fmt: skip
            answers[f"{key_name} {path}"] = _http(root + path, key, body)
    expected = {"error": {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}}
    return {
        "refused": sum(status == 401 and json.loads(text) == expected
                       for name, (status, text) in answers.items() if "/health" not in name),  # fmt: skip
        "of": sum("/health" not in name for name in answers),
        "health": sorted({f"{status} {text}" for name, (status, text) in answers.items() if "/health" in name}),
    }


def fault_over_context(room: Room, who: Learner) -> dict:
    """A prompt longer than a slot's context."""
    prompt = "word " * (room.context + 500)
    body = {"model": room.model, "max_tokens": 8, "messages": [{"role": "user", "content": prompt}]}
    started = time.perf_counter()
    status, text = _http(room.url + "/chat/completions", who.api_key, body)
    return {"status": status, "message": json.loads(text)["error"]["message"],
            "seconds": time.perf_counter() - started}  # fmt: skip


async def fault_burst(room: Room, size: int) -> dict:
    """``size`` requests at the same instant (each its own client), while /metrics is sampled."""
    async def one(who: Learner) -> tuple[bool, float, str]:
        client = openai.AsyncOpenAI(base_url=room.url, api_key=who.api_key, max_retries=0, timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            await client.chat.completions.create(
                model=room.model, max_tokens=16, messages=[{"role": "user", "content": "Say hello."}]
            )
            return True, time.perf_counter() - started, ""
        except Exception as error:
            return False, time.perf_counter() - started, f"{type(error).__name__}: {str(error)[:80]}"
        finally:
            await client.close()

    peaks = {"processing": 0.0, "deferred": 0.0}
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            metrics = await asyncio.to_thread(read_metrics, room.url, room.instructor)
            peaks["processing"] = max(peaks["processing"], metrics["llamacpp:requests_processing"])
            peaks["deferred"] = max(peaks["deferred"], metrics["llamacpp:requests_deferred"])
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    outcomes = await asyncio.gather(*(one(room.learners[i % len(room.learners)]) for i in range(size)))
    done.set()
    await sampler
    return {
        "requests": size, "slots": room.parallel, "served": sum(ok for ok, _, _ in outcomes),
        "errors": sorted({e for ok, _, e in outcomes if not ok}),
        "peak_in_flight": peaks["processing"], "peak_queued": peaks["deferred"],
        "latency_p95": percentile([s for ok, s, _ in outcomes if ok], 95),
    }  # fmt: skip


async def faults(room: Room, background: int, max_tokens: int) -> dict:
    """Run the four faults one after another while ``background`` learners keep working."""
    stop = asyncio.Event()
    learners, spare = room.learners[:background], room.learners[background]

    started = time.perf_counter()

    async def keep_working() -> list[Result]:
        results = []
        for round_number in range(20):  # bounded; normally ended by `stop` long before
            batch, _ = await room_run(room.url, room.model, learners, max_tokens=max_tokens, seed=round_number)
            results += batch
            if stop.is_set():
                return results
        return results

    worker = asyncio.create_task(keep_working())
    await asyncio.sleep(2)  # the background learners are mid-request
    report = {"killed client": await asyncio.to_thread(fault_killed_client, room, spare)}
    report["wrong key"] = await asyncio.to_thread(fault_wrong_key, room)
    report["over context"] = await asyncio.to_thread(fault_over_context, room, spare)
    report["burst"] = await fault_burst(room, 3 * room.parallel)
    stop.set()
    results = await worker
    report["background learners"] = summary(results, time.perf_counter() - started) | {"learners": background}
    return report


async def fault_revoke(folder: Path, background: int, parallel: int, max_tokens: int, threads: int = 0) -> dict:
    """Revoke a key in a running room (``python -m utils.room``, for real) while learners work.

    The learners use the notebooks' client settings (3 retries with back-off), so this shows
    what a learner would see: the engine restarts, requests in flight are cut.
    """
    files = RoomFiles(folder / "revoke")
    port = free_port()
    room = subprocess.Popen(
        [sys.executable, "-m", "utils.room", "--dir", str(files.folder), "start", "--quiet",
         "--learners", str(background + 1), "--parallel", str(parallel), "--port", str(port),
         "--threads", str(threads)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        for line in room.stdout:  # bounded: the room prints this line or exits
            if line.startswith("Live view:"):
                break
        info = json.loads(files.state.read_text())
        learners = files.learners()
        revoked, kept = learners[-1], learners[0]
        work = asyncio.create_task(room_run(info["base_url"], info["alias"], learners[:background],
                                            max_tokens=max_tokens, retries=MAX_RETRIES))  # fmt: skip
        await asyncio.sleep(3)  # learners mid-request
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "utils.room", "--dir", str(files.folder), "revoke", revoked.name],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        root = info["base_url"]
        down = None
        while time.perf_counter() - started < 180:
            codes = await asyncio.to_thread(lambda: (_http(root + "/models", revoked.api_key)[0],
                                                     _http(root + "/models", kept.api_key)[0]))  # fmt: skip
            if codes == (401, 200):
                down = time.perf_counter() - started
                break
            await asyncio.sleep(0.1)
        results, wall = await work
        return {"revoked key refused, others served again after_s": down,
                "learners": background, "client retries": MAX_RETRIES,
                "learners' requests": summary(results, wall)}  # fmt: skip
    finally:
        room.send_signal(signal.SIGINT)
        room.wait(timeout=60)


# ---- report -------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    lines = [
        "| learners | slots | CPU threads | requests | errors | resent | TTFT p50 | TTFT p95 | latency p50 | latency p95 | tokens/s | engine CPU | load before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['learners']} | {r['slots']} | {r['cpu_threads']} | {r['served']}/{r['requests']} | {r['errors']} | {r['resent']} "
            f"| {r['ttft_p50']:.2f} s | {r['ttft_p95']:.2f} s | {r['latency_p50']:.2f} s "
            f"| {r['latency_p95']:.2f} s | {r['tokens_per_s']:.0f} | {r['engine_cores']:.2f} cores "
            f"| {r['load_before']} → {r['load_after']} |"
        )
    kinds = sorted({kind for r in rows for kind in r["error_kinds"]})
    return "\n".join(lines + [f"error: {kind}" for kind in kinds])


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="10,20,30", help="room sizes, comma-separated")
    parser.add_argument("--parallel", type=int, default=8, help="slots for the room sizes and faults")
    parser.add_argument("--slots", default="", help="slot counts to compare at --sweep-learners")
    parser.add_argument("--sweep-learners", type=int, default=20)
    parser.add_argument("--steps", type=int, default=len(STEPS), help="calls per learner (1-5)")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--retries", type=int, default=MAX_RETRIES,
                        help="client retries (default: the notebooks'; 0 counts every failure)")  # fmt: skip
    parser.add_argument("--think", type=float, default=0.0, help="pause up to this many s before each call")
    parser.add_argument("--http-threads", type=int, default=None,
                        help="engine's connection threads (default: the room's; 0: llama.cpp's own)")  # fmt: skip
    parser.add_argument("--fault-learners", type=int, default=10, help="learners at work during the faults")
    parser.add_argument("--threads", type=int, default=0, help="engine's CPU threads (0: one per core)")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--time-limit", type=float, default=1500.0, help="seconds for the whole run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.learners.split(",") if x]
    slot_counts = [int(x) for x in args.slots.split(",") if x]
    keys = max([*sizes, args.sweep_learners if slot_counts else 0, args.fault_learners + 1])
    options = {"steps": args.steps, "max_tokens": args.max_tokens, "think": args.think,
               "retries": args.retries}  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="room-load-"))
    report: dict = {"cpu_count": os.cpu_count(), "model": local_model.selected().name, **options}
    print(f"{local_model.selected().name}, {os.cpu_count()} CPU cores, load {load_average()}, "
          f"{args.steps} calls per learner, max_tokens={args.max_tokens}, think ≤ {args.think} s, "
          f"{args.retries} client retries")  # fmt: skip

    async def body() -> None:
        if slot_counts:
            report["slots"] = []
            for slots in slot_counts:
                with room_engine(folder, keys, slots, args.http_threads, args.threads) as room:
                    report["slots"].append(await measured(room, args.sweep_learners, **options))
                print(f"\nSlot counts, {args.sweep_learners} learners:\n{table(report['slots'])}", flush=True)
        with room_engine(folder, keys, args.parallel, args.http_threads, args.threads) as room:
            report["sizes"] = []
            for count in sizes:
                report["sizes"].append(await measured(room, count, **options))
                print(f"\nRoom sizes, {args.parallel} slots:\n{table(report['sizes'])}", flush=True)
            if not args.no_faults:
                report["faults"] = await faults(room, args.fault_learners, args.max_tokens)
                print(f"\nFaults, while {args.fault_learners} learners keep working:")
                print(json.dumps(report["faults"], indent=2, default=str))
        if not args.no_faults:
            report["revoke"] = await fault_revoke(folder, args.fault_learners, args.parallel, args.max_tokens,
                                                  args.threads)
            print(f"\nRevoking a key while {args.fault_learners} learners work:")
            print(json.dumps(report["revoke"], indent=2, default=str))

    try:
        await asyncio.wait_for(body(), timeout=args.time_limit)
    except TimeoutError:
        print(f"\nStopped at the time limit ({args.time_limit:.0f} s); figures above are complete phases.")
        report["stopped_at_time_limit"] = True
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    errors = sum(r["errors"] for r in report.get("sizes", []) + report.get("slots", []))
    errors += report.get("faults", {}).get("background learners", {}).get("errors", 0)
    return 1 if errors or report.get("stopped_at_time_limit") else 0


def _interrupt(number, frame):
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the engine is stopped on the way out


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    raise SystemExit(asyncio.run(main()))

"""Benchmark: what the sandbox's protections cost per run, and HumanEval's 164 reference solutions.

    python benchmarks/sandbox_overhead.py [--runs 20]

Times ``run_code`` against a bare ``subprocess.run([python, "-c", ...])`` (no protection) on
the same tiny program, interleaved, and prints the medians and their ratio; then checks all
164 canonical HumanEval solutions with 1 and with 4 threads. Run it on an otherwise idle
machine; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from utils.datasets import load_humaneval
from utils.evals import check_solution, describe_sandbox, run_code, sandbox_features

PROGRAM = "print(sum(range(1000)))"


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(describe_sandbox(), "\n")
    python = sandbox_features().python
    bare, sandboxed = [], []
    for _ in range(args.runs):  # interleaved, so load changes hit both alike
        bare.append(seconds(lambda: subprocess.run([python, "-c", PROGRAM], capture_output=True)))
        sandboxed.append(seconds(lambda: run_code(PROGRAM)))
    bare_ms, sandbox_ms = statistics.median(bare) * 1000, statistics.median(sandboxed) * 1000
    print(
        f"bare subprocess: {bare_ms:.0f} ms   sandboxed run_code: {sandbox_ms:.0f} ms   "
        f"ratio {sandbox_ms / bare_ms:.1f}× (median of {args.runs})"
    )

    problems = load_humaneval()
    for workers in (1, 4):
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda p: check_solution(p, p["canonical_solution"]), problems))
        passed = sum(result.passed for result in results)
        print(
            f"HumanEval canonical solutions, {workers} thread(s): {passed}/{len(problems)} passed "
            f"in {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()

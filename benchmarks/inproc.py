"""In-process benchmark: each app called directly, as a server would, on one asyncio loop.

    python benchmarks/inproc.py            # full run (about a minute)
    python benchmarks/inproc.py --quick    # smoke test: a few requests, prints the table

Each case runs the variants (raw, ours, Starlette, BlackSheep, Falcon) interleaved (the
order rotates every round) in batches of N requests inside one coroutine; a batch gives
microseconds per request, and the table shows the median and min-max over the rounds,
then ratios. A variant that lacks a case's features (Falcon: gzip, sessions) shows "-".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
from typing import Any

from workload import (
    CASES_BY_NAME,
    FRAMEWORKS,
    LAYER_CASES,
    ROUTE_CASES,
    App,
    Case,
    check,
    load,
    machine,
    markdown_table,
    null_send,
)

FRAMEWORK_NAMES = list(FRAMEWORKS)


CLOCKS = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}
_clock = CLOCKS["cpu"]


async def batch(app: App, case: Case, n: int) -> float:
    """Microseconds per request over ``n`` back-to-back requests."""
    scope = case.scope
    make_receive = case.receive  # a fresh receive per request, as a server gives
    send = null_send
    clock = _clock
    start = clock()
    for _ in range(n):
        await app(scope.copy(), make_receive(), send)
    return (clock() - start) / n / 1000


async def _calibrate(app: App, case: Case, batch_ms: float) -> int:
    """The number of requests that takes about ``batch_ms`` milliseconds."""
    n = 8
    while True:
        per_request = await batch(app, case, n)
        elapsed_ms = per_request * n / 1000
        if elapsed_ms > batch_ms / 4 or n > 1_000_000:
            return max(1, int(n * batch_ms / elapsed_ms))
        n *= 4


async def _null_app(scope: Any, receive: Any, send: Any) -> None:
    """The harness alone: a scope copy and a call."""


async def run(
    cases: list[Case], frameworks: list[str], rounds: int, batch_ms: float, quick: bool
) -> tuple[dict[tuple[str, str], list[float]], list[tuple[str, str, str]], float]:
    apps = {name: load(name) for name in frameworks}
    failures: list[tuple[str, str, str]] = []
    runnable: dict[str, list[str]] = {}
    for case in cases:
        runnable[case.name] = []
        for name in frameworks:
            if case.table not in apps[name]:
                continue  # the framework lacks a feature of this case: "-"
            if quick and name == "falcon" and case.name == "routes10000":
                continue  # adding 10,000 routes takes Falcon ~100 s of CPU: not in a smoke test
            problem = await check(apps[name][case.table], case)
            if problem is None:
                runnable[case.name].append(name)
            else:
                failures.append((case.name, name, f"{name} {case.label}: {problem}"))
    sizes: dict[tuple[str, str], int] = {}
    for case in cases:
        for name in runnable[case.name]:
            app = apps[name][case.table]
            sizes[case.name, name] = 3 if quick else await _calibrate(app, case, batch_ms)
    harness = min([await batch(_null_app, cases[0], 10 if quick else 200_000) for _ in range(3)])
    results: dict[tuple[str, str], list[float]] = {k: [] for k in sizes}
    for round_no in range(rounds):
        for case in cases:
            order = runnable[case.name]
            shift = round_no % max(1, len(order))
            for name in order[shift:] + order[:shift]:
                gc.collect()
                app = apps[name][case.table]
                results[case.name, name].append(await batch(app, case, sizes[case.name, name]))
    return results, failures, harness


def _clock_name() -> str:
    return next(name for name, clock in CLOCKS.items() if clock is _clock)


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} ({min(values):.2f}-{max(values):.2f})"


def report(
    results: dict[tuple[str, str], list[float]],
    failed: set[tuple[str, str]],
    cases: list[Case],
    frameworks: list[str],
    harness: float,
) -> str:
    def cell(case: str, name: str) -> str | None:
        if (case, name) in failed:
            return "FAILED"
        return _fmt(results[case, name]) if (case, name) in results else None

    def median(case: str, name: str) -> float | None:
        values = results.get((case, name))
        return statistics.median(values) if values else None

    lines = [
        f"Python {platform.python_version()} ({sys.implementation.name}), asyncio, one loop, "
        f"{_clock_name()} clock; microseconds per request, median (min-max) over rounds; "
        f"harness alone {harness:.2f} us",
    ]
    groups = [
        ("case", [c for c in cases if c not in ROUTE_CASES and c not in LAYER_CASES]),
        ("route table", [c for c in cases if c in ROUTE_CASES]),
        ("layers", [c for c in cases if c in LAYER_CASES]),
    ]
    for first, group in groups:
        if group:
            lines += ["", *markdown_table(group, frameworks, cell, median, first)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a few requests per case (CI smoke test)"
    )
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument(
        "--batch-ms", type=float, default=40.0, help="target batch length (default 40)"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: process CPU time of all threads (default, robust on a busy machine); "
        "wall: perf_counter",
    )
    parser.add_argument(
        "--cases", default=",".join(CASES_BY_NAME), help="comma-separated case names"
    )
    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORK_NAMES),
        help="subset of " + ",".join(FRAMEWORK_NAMES),
    )
    args = parser.parse_args(argv)
    cases = [CASES_BY_NAME[name] for name in args.cases.split(",")]
    frameworks = args.frameworks.split(",")
    rounds = 2 if args.quick else args.rounds
    global _clock
    _clock = CLOCKS[args.clock]
    results, failures, harness = asyncio.run(
        run(cases, frameworks, rounds, args.batch_ms, args.quick)
    )
    print(machine())
    failed = {(case, name) for case, name, _ in failures}
    print(report(results, failed, cases, frameworks, harness))
    for _, _, failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

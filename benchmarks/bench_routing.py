"""Routing cost: asgi-routing's compiled index against Starlette's ordered scan.

Run:  python benchmarks/bench_routing.py [--repeats 15] [--quick]

Each case dispatches one request through a Router whose endpoint is a bare ASGI
callable that does nothing, so what is measured is the routing itself (scope in, route
chosen, endpoint called). No event loop is involved: the coroutine completes on its
first step. Cases are interleaved (A/B/A/B...) in every repeat so drift in machine
load hits all of them alike; the table shows the median time per request.

Two checks are printed (the performance issue's acceptance criteria):
- matching the last of 1,000 routes costs at most 1.3x matching the first of 10;
- on the 1,000-route table, asgi-routing is at least 20x faster than Starlette.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from asgi_routing import Route as OurRoute
from asgi_routing import Router as OurRouter

try:
    from starlette.routing import Route as StarletteRoute
    from starlette.routing import Router as StarletteRouter
except ImportError:  # pragma: no cover - Starlette is optional for this script
    StarletteRoute = StarletteRouter = None


class Endpoint:
    """A bare ASGI app: the cheapest possible endpoint."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}  # pragma: no cover - never called


async def _send(message: Any) -> None:
    return None  # pragma: no cover - never called


def _templates(kind: str, count: int) -> list[str]:
    if kind == "static":
        return [f"/section{i}/items" for i in range(count)]
    return [f"/section{i}/items/{{item_id:int}}" for i in range(count)]


def _request_path(kind: str, index: int) -> str:
    return f"/section{index}/items" + ("" if kind == "static" else "/42")


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.org")],
        "scheme": "http",
        "server": ("example.org", 80),
    }


def _runner(app: Any, path: str) -> Callable[[int], float]:
    template = _scope(path)

    def run(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            coroutine = app(dict(template), _receive, _send)
            try:
                coroutine.send(None)
            except StopIteration:
                pass
            else:  # pragma: no cover - the endpoint never suspends
                raise RuntimeError("the benchmark endpoint suspended")
        return time.perf_counter() - start

    return run


def _build_cases() -> dict[str, Callable[[int], float]]:
    cases: dict[str, Callable[[int], float]] = {}
    endpoint = Endpoint()
    for kind in ("static", "param"):
        for size, target in ((10, 0), (1000, 999)):
            paths = _templates(kind, size)
            request = _request_path(kind, target)
            ours = OurRouter([OurRoute(p, endpoint) for p in paths])
            cases[f"asgi-routing {kind:6} {size:>4} routes, match #{target + 1}"] = _runner(
                ours, request
            )
            if StarletteRouter is not None:
                theirs = StarletteRouter([StarletteRoute(p, endpoint) for p in paths])
                label = f"starlette    {kind:6} {size:>4} routes, match #{target + 1}"
                cases[label] = _runner(theirs, request)
    return cases


def _calibrate(run: Callable[[int], float], budget: float) -> int:
    run(10)  # warm up: the first request builds the router's index
    count = 16
    while True:
        elapsed = run(count)
        if elapsed >= budget / 4:
            return max(16, int(count * budget / elapsed))
        count *= 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--budget", type=float, default=0.05, help="seconds per batch")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 3 rounds of short batches"
    )
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.budget = 3, 0.005

    cases = _build_cases()
    counts = {name: _calibrate(run, args.budget) for name, run in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, run in cases.items():
            samples[name].append(run(counts[name]) / counts[name] * 1e6)
    medians = {name: statistics.median(values) for name, values in samples.items()}

    width = max(len(name) for name in cases)
    print(f"{'case':{width}}  median us/request  (min .. max over {args.repeats} rounds)")
    for name in cases:
        values = samples[name]
        print(f"{name:{width}}  {medians[name]:10.3f}  ({min(values):.3f} .. {max(values):.3f})")
    print()
    for kind in ("static", "param"):
        first = medians[f"asgi-routing {kind:6}   10 routes, match #1"]
        last = medians[f"asgi-routing {kind:6} 1000 routes, match #1000"]
        ratio = last / first
        verdict = "ok" if ratio <= 1.3 else "FAIL"
        print(f"{kind}: last of 1000 / first of 10 = {ratio:.2f}x (<= 1.3x: {verdict})")
        their_label = f"starlette    {kind:6} 1000 routes, match #1000"
        if their_label in medians:
            speedup = medians[their_label] / last
            verdict = "ok" if speedup >= 20 else "FAIL"
            print(f"{kind}: Starlette / ours, 1000 routes = {speedup:.0f}x (>= 20x: {verdict})")


if __name__ == "__main__":
    main()

"""Where a variant's per-request time goes: cProfile (or pyinstrument) over N requests.

    python benchmarks/profile_ours.py                        # ours, /plaintext /json /users
    python benchmarks/profile_ours.py --cases middleware --top 25
    python benchmarks/profile_ours.py --framework starlette  # the same for comparison
    python benchmarks/profile_ours.py --pyinstrument         # call tree (pip install pyinstrument)
    python benchmarks/profile_ours.py --layers               # cost of each layer of App

``--layers`` times this framework's stack peeled one layer at a time (CPU clock,
interleaved rounds): the whole App, its middleware stack (ServerErrorMiddleware ->
ExceptionMiddleware -> Router), the Router alone, the matched Route's app (Request +
endpoint + response), the endpoint's response built and sent, and sent only.

cProfile's own overhead inflates small functions; read the ranking, not the absolute
times (those are in inproc.py's table).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
from typing import Any

from inproc import batch
from workload import CASES_BY_NAME, FRAMEWORKS, Case, check, load, null_send


async def _drive(app: object, case: Case, count: int) -> None:
    scope = case.scope
    make_receive = case.receive
    for _ in range(count):
        await app(scope.copy(), make_receive(), null_send)  # type: ignore[operator]


def _short(filename: str) -> str:
    for marker in ("/src/", "/site-packages/", "/benchmarks/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return os.path.basename(filename)


def _cprofile(app: object, case: Case, count: int, top: int) -> None:
    profiler = cProfile.Profile()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_drive(app, case, 100))
        profiler.enable()
        loop.run_until_complete(_drive(app, case, count))
        profiler.disable()
    finally:
        loop.close()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, f"{_short(filename)}:{line}:{function}"))
    rows.sort(reverse=True)
    total = sum(row[0] for row in rows)
    print(f"{'self %':>7} {'self us/req':>11} {'cum us/req':>10} {'calls/req':>9}  function")
    for tottime, cumtime, calls, where in rows[:top]:
        print(
            f"{100 * tottime / total:6.1f}% {1e6 * tottime / count:11.2f} "
            f"{1e6 * cumtime / count:10.2f} {calls / count:9.1f}  {where}"
        )


def _pyinstrument(app: object, case: Case, count: int) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001, async_mode="disabled")
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_drive(app, case, 100))
        profiler.start()
        loop.run_until_complete(_drive(app, case, count))
        profiler.stop()
    finally:
        loop.close()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def _layers(case: Case, rounds: int, count: int) -> None:
    """Microseconds per request of each layer of ``App`` for ``case``."""
    from asgi_core.requests import Request
    from asgi_routing import Match

    app = load("ours")[case.table]
    raw = load("raw")[case.table]
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app(case.scope.copy(), case.receive(), null_send))
        stack = app.middleware_stack
        router = app.router
        inner: dict[str, Any] = case.scope.copy()
        inner["app"] = app
        inner["router"] = router
        route = next(r for r in router.routes if r.matches(inner)[0] is Match.FULL)
        inner.update(route.matches(inner)[1])
        endpoint = route.endpoint
        receive = case.receive()
        built = loop.run_until_complete(endpoint(Request(inner.copy(), receive)))

        async def route_app(scope: Any, receive: Any, send: Any) -> None:
            await route.app(inner.copy(), receive, send)

        async def response_built(scope: Any, receive: Any, send: Any) -> None:
            response = await endpoint(Request(inner, receive))
            await response(inner, receive, send)

        async def response_sent(scope: Any, receive: Any, send: Any) -> None:
            await built(inner, receive, send)

        layers = {
            "App (whole)": app,
            "middleware_stack (errors -> exceptions -> router)": stack,
            "Router.app (match + route)": router.app,
            "Route.app (Request + endpoint + response)": route_app,
            "endpoint: response built + sent": response_built,
            "Response.__call__ only": response_sent,
            "raw ASGI (the limit)": raw,
        }
        times: dict[str, list[float]] = {name: [] for name in layers}
        for _ in range(rounds):
            for name, layer in layers.items():
                times[name].append(loop.run_until_complete(batch(layer, case, count)))
    finally:
        loop.close()
    print(f"## ours, layer by layer: {case.label} (us per request, CPU clock, median)")
    print(f"{'total':>8} {'own':>7}  layer (own = this layer minus the next one)")
    medians = [(name, statistics.median(values)) for name, values in times.items()]
    for i, (name, median) in enumerate(medians):
        inner_layer = i + 1 < len(medians) - 1
        own = f"{median - medians[i + 1][1]:7.2f}" if inner_layer else f"{'':7}"
        print(f"{median:8.2f} {own}  {name}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--framework", default="ours", choices=sorted(FRAMEWORKS))
    parser.add_argument("--cases", default="plaintext,json,users")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--layers", action="store_true", help="time each layer of App")
    args = parser.parse_args(argv)
    if args.layers:
        for name in args.cases.split(","):
            _layers(CASES_BY_NAME[name], rounds=9, count=max(1, args.requests // 4))
        return 0
    apps = load(args.framework)
    for name in args.cases.split(","):
        case = CASES_BY_NAME[name]
        app = apps[case.table]
        problem = asyncio.run(check(app, case))
        if problem is not None:
            print(f"{args.framework} {case.label}: {problem}", file=sys.stderr)
            return 1
        print(f"## {args.framework}: {case.label} ({args.requests} requests)")
        if args.pyinstrument:
            _pyinstrument(app, case, args.requests)
        else:
            _cprofile(app, case, args.requests, args.top)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-request cost of OpenTelemetryMiddleware, ours (asgi_middleware) against Starlette's.

    python benchmarks/bench_opentelemetry.py            # full run (about a minute)
    python benchmarks/bench_opentelemetry.py --quick    # checks every answer, times nothing

The same hand-written ASGI endpoint (it publishes ``scope["route"]`` as a router would,
so both middlewares name the span ``GET /users/{id}``) runs bare, in our middleware and
in Starlette 1.10's, for three tracer set-ups:

- ``sdk``: an opentelemetry-sdk ``TracerProvider`` with a ``SimpleSpanProcessor`` and an
  ``InMemorySpanExporter`` (cleared between batches), passed explicitly;
- ``unconfigured``: no provider anywhere (the API's global proxy, as in an application
  that never set one up);
- ``noop``: an explicit ``NoOpTracerProvider``.

Each request is called in process as a server would: a prebuilt scope (with a W3C
``traceparent`` header) shallow-copied per request, a fresh receive, a send that drops
messages; one asyncio loop. The variants of a set-up run interleaved (the order rotates
every round) in batches of N requests (N calibrated to ``--batch-ms``); per round, a
middleware's added cost is its batch's microseconds per request minus the bare
endpoint's in the same round. The table gives the median and min-max over the rounds.
Before timing, every variant's reply and spans are checked; ``--quick`` stops there
(for CI) and exits 1 on a wrong answer. Starlette 1.10.0 is a benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.middleware.opentelemetry import OpenTelemetryMiddleware as StarletteOTel
from workload import machine

from asgi_middleware.opentelemetry import OpenTelemetryMiddleware as OurOTel

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
CLOCKS = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}
_clock = CLOCKS["cpu"]

BODY = b'{"id":42}'
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "server": ("127.0.0.1", 8000),
    "client": ("127.0.0.1", 51000),
    "scheme": "http",
    "method": "GET",
    "root_path": "",
    "path": "/users/42",
    "raw_path": b"/users/42",
    "query_string": b"",
    "headers": [
        (b"host", b"api.example.com"),
        (b"user-agent", b"bench/1.0"),
        (b"accept", b"application/json"),
        (b"traceparent", f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode()),
    ],
}
ROUTE_NAME = "GET /users/{id}"


class UserRoute:
    """What a router leaves in ``scope["route"]``: the matched route and its template."""

    path_format = "/users/{id}"


USER_ROUTE = UserRoute()


async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = USER_ROUTE
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"9")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


async def null_send(message: Any) -> None:
    pass


async def _never() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


def make_receive() -> Callable[[], Awaitable[dict[str, Any]]]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await _never()
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


@dataclass
class Setup:
    """One tracer set-up: how each variant is built and what spans it must leave."""

    name: str
    label: str
    provider: trace.TracerProvider | None
    exporter: InMemorySpanExporter | None

    def variants(self) -> dict[str, App]:
        kwargs = {} if self.provider is None else {"tracer_provider": self.provider}
        return {
            "bare": endpoint,
            "ours": OurOTel(endpoint, **kwargs),
            "starlette": StarletteOTel(endpoint, **kwargs),
        }

    def reset(self) -> None:
        if self.exporter is not None:
            self.exporter.clear()


def setups() -> list[Setup]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return [
        Setup("sdk", "SDK provider, in-memory exporter", provider, exporter),
        Setup("unconfigured", "no provider configured (global proxy)", None, None),
        Setup("noop", "NoOpTracerProvider passed", trace.NoOpTracerProvider(), None),
    ]


async def check(setup: Setup, name: str, app: App) -> str | None:
    """What is wrong with one request through ``app``, or None."""
    setup.reset()
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(dict(SCOPE), make_receive(), send)
    if [m["type"] for m in messages] != ["http.response.start", "http.response.body"]:
        return f"unexpected messages {messages!r}"
    if messages[0]["status"] != 200 or messages[1]["body"] != BODY:
        return "wrong reply"
    if setup.exporter is None:
        return None
    spans = setup.exporter.get_finished_spans()
    if name == "bare":
        return None if not spans else f"{len(spans)} spans without a middleware"
    if len(spans) != 1:
        return f"{len(spans)} spans, expected 1"
    span = spans[0]
    attributes = dict(span.attributes or {})
    if span.name != ROUTE_NAME or attributes.get("http.route") != "/users/{id}":
        return f"span {span.name!r} {attributes!r}"
    if span.context is None or f"{span.context.trace_id:032x}" != TRACE_ID:
        return "the remote parent was not used"
    if attributes.get("http.response.status_code") != 200:
        return "no status code"
    return None


async def batch(app: App, n: int) -> float:
    """Microseconds per request over ``n`` back-to-back requests."""
    scope, receive_factory, send, clock = SCOPE, make_receive, null_send, _clock
    start = clock()
    for _ in range(n):
        await app(scope.copy(), receive_factory(), send)
    return (clock() - start) / n / 1000


async def calibrate(app: App, setup: Setup, batch_ms: float) -> int:
    n = 8
    while True:
        setup.reset()
        elapsed_ms = await batch(app, n) * n / 1000
        if elapsed_ms > batch_ms / 4 or n > 1_000_000:
            return max(1, int(n * batch_ms / elapsed_ms))
        n *= 4


async def measure(setup: Setup, rounds: int, batch_ms: float) -> dict[str, list[float]]:
    """Per variant, the microseconds per request of each round (bare: absolute;
    the middlewares: added to bare in the same round)."""
    apps = setup.variants()
    sizes = {name: await calibrate(app, setup, batch_ms) for name, app in apps.items()}
    raw: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            setup.reset()
            gc.collect()
            raw[name].append(await batch(apps[name], sizes[name]))
    setup.reset()
    added = {"bare": raw["bare"]}
    for name in ("ours", "starlette"):
        added[name] = [t - b for t, b in zip(raw[name], raw["bare"], strict=True)]
    return added


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _ratio(ours: list[float], theirs: list[float]) -> str:
    a, b = statistics.median(ours), statistics.median(theirs)
    # below half a microsecond a ratio is the noise of a shared machine, not a result
    return f"{a / b:.2f}x" if min(a, b) >= 0.5 else "n/a"


async def run(args: argparse.Namespace) -> int:
    failures: list[str] = []
    all_setups = setups()
    for setup in all_setups:
        for name, app in setup.variants().items():
            problem = await check(setup, name, app)
            if problem is not None:
                failures.append(f"{setup.name} / {name}: {problem}")
    print(machine())
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failures:
        return 1
    if args.quick:
        print(f"checked {len(all_setups)} set-ups x 3 variants: every answer and span is right")
        return 0
    clock = next(name for name, c in CLOCKS.items() if c is _clock)
    print(
        f"asyncio, one loop, {clock} clock, {args.rounds} interleaved rounds; microseconds "
        "per request, median (min-max); middleware columns: cost added to the bare endpoint"
    )
    print()
    print(
        "| tracer set-up | bare endpoint us | ours adds us | Starlette adds us | ours/Starlette |"
    )
    print("|---|---|---|---|---|")
    for setup in all_setups:
        result = await measure(setup, args.rounds, args.batch_ms)
        print(
            f"| {setup.label} | {_fmt(result['bare'])} | {_fmt(result['ours'])} | "
            f"{_fmt(result['starlette'])} | {_ratio(result['ours'], result['starlette'])} |",
            flush=True,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="check the answers, time nothing")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--batch-ms", type=float, default=40.0, help="batch length (default 40)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="default: cpu")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

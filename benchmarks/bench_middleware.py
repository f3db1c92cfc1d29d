"""Per-request cost each middleware adds, ours (asgi_middleware) against Starlette's.

    python benchmarks/bench_middleware.py                  # full run (a minute or two)
    python benchmarks/bench_middleware.py --quick          # smoke test, a few seconds
    python benchmarks/bench_middleware.py --profile gzip   # cProfile of ours on one case
    python benchmarks/bench_middleware.py --instructions   # callgrind counts (valgrind)

Every case wraps the same hand-written ASGI endpoint (no framework) three ways: bare,
in our middleware, in Starlette's equivalent (same settings). Each is called in
process as a server would call it: a prebuilt scope shallow-copied per request, a
receive that returns the body, a send that drops messages; one asyncio loop. The
three variants run interleaved (the order rotates every round) in batches of
``--iterations`` requests; per round, the cost a middleware ADDS is its batch's
microseconds per request minus the bare endpoint's in the same round. The table
gives the median and min-max over ``--repeats`` rounds, and ours/Starlette of the
medians of the added cost. Before timing, every variant's reply is checked.
``--instructions`` counts instructions per request instead (each variant run with
100 and 1,100 requests after the same warm-up under ``valgrind --tool=callgrind``;
the difference over 1,000): deterministic, for differences below the timing noise.
Starlette 1.10.0 is a benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import gzip
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from base64 import b64decode, b64encode
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from workload import machine

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Wrap = Callable[[App], App]
Verify = Callable[[dict[str, Any], list[dict[str, Any]]], "str | None"]

SMALL_BODY = b"Hello, World!"
TEXT_2K = (b"The quick brown fox jumps over the lazy dog. " * 50)[:2048]
ORIGIN = b"https://client.example.org"
HOST = b"example.com"
SECRET = "bench-secret-key"
SESSION_DATA = {"user": "alice", "count": 1}
CLOCKS = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}
_clock = CLOCKS["cpu"]


# -- the endpoint: a hand-written ASGI callable, fresh messages per request ------------


def _endpoint(body: bytes) -> App:
    length = str(len(body)).encode()

    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", length),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return endpoint


plain_endpoint = _endpoint(SMALL_BODY)
text_endpoint = _endpoint(TEXT_2K)


async def session_reader(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the session (``{}`` when bare, so the bare run does the same lookups)."""
    session = scope.get("session")
    if session is None:
        session = {}
    session.get("user")
    await plain_endpoint(scope, receive, send)


async def session_writer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Changes the session: ``count`` goes up by one."""
    session = scope.get("session")
    if session is None:
        session = {}
    session["count"] = session.get("count", 0) + 1
    await plain_endpoint(scope, receive, send)


# -- the middleware, same settings on both sides --------------------------------------


def _cors(module: Any) -> Wrap:
    return lambda app: module.CORSMiddleware(
        app,
        allow_origins=[ORIGIN.decode()],
        allow_methods=["GET", "POST"],
        allow_headers=["x-custom"],
    )


async def _call_next(request: Any, call_next: Any) -> Any:
    return await call_next(request)


def _auth(module: Any, auth: Any) -> Wrap:
    class Backend(auth.AuthenticationBackend):  # type: ignore[misc,name-defined]
        async def authenticate(self, conn: Any) -> Any:
            return auth.AuthCredentials(["authenticated"]), auth.SimpleUser("alice")

    return lambda app: module.AuthenticationMiddleware(app, backend=Backend())


def wrappers() -> dict[str, dict[str, Wrap]]:
    """Per middleware: ``{"ours": wrap, "starlette": wrap}``."""
    import starlette.authentication as s_authn
    import starlette.middleware.authentication as s_auth
    import starlette.middleware.base as s_base
    import starlette.middleware.cors as s_cors
    import starlette.middleware.errors as s_errors
    import starlette.middleware.exceptions as s_exc
    import starlette.middleware.gzip as s_gzip
    import starlette.middleware.httpsredirect as s_https
    import starlette.middleware.sessions as s_sessions
    import starlette.middleware.trustedhost as s_host

    import asgi_middleware.authentication as o_auth
    import asgi_middleware.base as o_base
    import asgi_middleware.cors as o_cors
    import asgi_middleware.errors as o_errors
    import asgi_middleware.exceptions as o_exc
    import asgi_middleware.gzip as o_gzip
    import asgi_middleware.httpsredirect as o_https
    import asgi_middleware.sessions as o_sessions
    import asgi_middleware.trustedhost as o_host

    hosts = [HOST.decode(), "*." + HOST.decode()]
    return {
        "cors": {"ours": _cors(o_cors), "starlette": _cors(s_cors)},
        "gzip": {
            "ours": lambda app: o_gzip.GZipMiddleware(app, minimum_size=500),
            "starlette": lambda app: s_gzip.GZipMiddleware(app, minimum_size=500),
        },
        "sessions": {
            "ours": lambda app: o_sessions.SessionMiddleware(app, secret_key=SECRET),
            "starlette": lambda app: s_sessions.SessionMiddleware(app, secret_key=SECRET),
        },
        "trustedhost": {
            "ours": lambda app: o_host.TrustedHostMiddleware(app, allowed_hosts=hosts),
            "starlette": lambda app: s_host.TrustedHostMiddleware(app, allowed_hosts=hosts),
        },
        "httpsredirect": {
            "ours": o_https.HTTPSRedirectMiddleware,
            "starlette": s_https.HTTPSRedirectMiddleware,
        },
        "errors": {
            "ours": o_errors.ServerErrorMiddleware,
            "starlette": s_errors.ServerErrorMiddleware,
        },
        "exceptions": {"ours": o_exc.ExceptionMiddleware, "starlette": s_exc.ExceptionMiddleware},
        "errors_stack": {  # App's fixed outer pair: ServerError -> Exception -> app
            "ours": lambda app: o_errors.ServerErrorMiddleware(o_exc.ExceptionMiddleware(app)),
            "starlette": lambda app: s_errors.ServerErrorMiddleware(s_exc.ExceptionMiddleware(app)),
        },
        "base": {
            "ours": lambda app: o_base.BaseHTTPMiddleware(app, dispatch=_call_next),
            "starlette": lambda app: s_base.BaseHTTPMiddleware(app, dispatch=_call_next),
        },
        "authentication": {
            "ours": _auth(o_auth, o_auth),
            "starlette": _auth(s_auth, s_authn),
        },
    }


# -- the cases ------------------------------------------------------------------------


def _session_cookie(data: dict[str, Any]) -> bytes:
    """A valid signed session cookie (the itsdangerous format both sides read)."""
    from itsdangerous import TimestampSigner

    signed = TimestampSigner(SECRET).sign(b64encode(json.dumps(data).encode()))
    return b"session=" + signed


def _set_cookie_count(messages: list[dict[str, Any]]) -> int | None:
    for name, value in messages[0]["headers"]:
        if name.lower() == b"set-cookie" and value.startswith(b"session="):
            signed = value.split(b";", 1)[0][len(b"session=") :]
            payload = signed.rsplit(b".", 2)[0]
            count: int = json.loads(b64decode(payload))["count"]
            return count
    return None


def _verify_session_loaded(scope: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    session = scope.get("session")
    return None if session and session.get("user") == "alice" else f"session not loaded: {session}"


def _verify_session_written(scope: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    count = _set_cookie_count(messages)
    return None if count == 2 else f"set-cookie carries count={count}, expected 2"


def _verify_user(scope: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    user = scope.get("user")
    ok = user is not None and user.is_authenticated and user.display_name == "alice"
    return None if ok else f"scope['user'] is {user!r}"


@dataclass(frozen=True)
class Case:
    """One request through one middleware pair, and what the reply must look like."""

    name: str
    label: str
    middleware: str
    endpoint: App
    headers: tuple[tuple[bytes, bytes], ...] = ()
    method: str = "GET"
    scheme: str = "http"
    status: int = 200
    body: bytes = SMALL_BODY
    bare_body: bytes | None = None  # the endpoint's, when the middleware answers alone
    must_have: tuple[bytes, ...] = ()
    must_not_have: tuple[bytes, ...] = ()
    gzipped: bool = False
    verify: Verify | None = None
    scope: dict[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        headers = [
            (b"host", HOST),
            (b"user-agent", b"bench/1.0"),
            (b"accept", b"*/*"),
            *self.headers,
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 51000),
            "scheme": self.scheme,
            "method": self.method,
            "root_path": "",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "headers": headers,
            "state": {},
        }
        object.__setattr__(self, "scope", scope)


_ORIGIN_HEADER = ((b"origin", ORIGIN),)
CASES = [
    Case(
        "cors_simple",
        "CORS simple GET, allowed Origin",
        "cors",
        plain_endpoint,
        _ORIGIN_HEADER,
        must_have=(b"access-control-allow-origin",),
    ),
    Case(
        "cors_preflight",
        "CORS preflight OPTIONS (endpoint not called)",
        "cors",
        plain_endpoint,
        (
            *_ORIGIN_HEADER,
            (b"access-control-request-method", b"POST"),
            (b"access-control-request-headers", b"x-custom"),
        ),
        method="OPTIONS",
        body=b"OK",
        bare_body=SMALL_BODY,
        must_have=(b"access-control-allow-origin", b"access-control-allow-methods"),
    ),
    Case(
        "cors_idle",
        "CORS, no Origin (idle)",
        "cors",
        plain_endpoint,
        must_not_have=(b"access-control-allow-origin",),
    ),
    Case(
        "gzip",
        "GZip 2 KiB text, Accept-Encoding: gzip",
        "gzip",
        text_endpoint,
        ((b"accept-encoding", b"gzip, deflate, br"),),
        body=TEXT_2K,
        gzipped=True,
        must_have=(b"content-encoding",),
    ),
    Case(
        "gzip_identity",
        "GZip 2 KiB text, no Accept-Encoding",
        "gzip",
        text_endpoint,
        body=TEXT_2K,
        must_not_have=(b"content-encoding",),
    ),
    Case(
        "gzip_idle",
        "GZip, no Accept-Encoding, small body (idle)",
        "gzip",
        plain_endpoint,
        must_not_have=(b"content-encoding",),
    ),
    Case(
        "gzip_small",
        "GZip, Accept-Encoding: gzip, body under minimum_size",
        "gzip",
        plain_endpoint,
        ((b"accept-encoding", b"gzip, deflate, br"),),
        must_not_have=(b"content-encoding",),
    ),
    Case(
        "session_none",
        "Session, no cookie, untouched (idle)",
        "sessions",
        plain_endpoint,
        must_not_have=(b"set-cookie",),
    ),
    Case(
        "session_read",
        "Session, valid cookie, read only",
        "sessions",
        session_reader,
        ((b"cookie", _session_cookie(SESSION_DATA)),),
        must_not_have=(b"set-cookie",),
        verify=_verify_session_loaded,
    ),
    Case(
        "session_write",
        "Session, valid cookie, modified",
        "sessions",
        session_writer,
        ((b"cookie", _session_cookie(SESSION_DATA)),),
        must_have=(b"set-cookie",),
        verify=_verify_session_written,
    ),
    Case("trustedhost", "TrustedHost, allowed Host", "trustedhost", plain_endpoint),
    Case(
        "httpsredirect",
        "HTTPSRedirect, https scope (pass-through)",
        "httpsredirect",
        plain_endpoint,
        scheme="https",
    ),
    Case("errors", "ServerErrorMiddleware, no error", "errors", plain_endpoint),
    Case("exceptions", "ExceptionMiddleware, no error", "exceptions", plain_endpoint),
    Case(
        "errors_stack",
        "ServerError + Exception (App's outer pair), no error",
        "errors_stack",
        plain_endpoint,
    ),
    Case("base", "BaseHTTPMiddleware, dispatch = call_next", "base", plain_endpoint),
    Case(
        "authentication",
        "AuthenticationMiddleware, trivial backend",
        "authentication",
        plain_endpoint,
        verify=_verify_user,
    ),
]
CASES_BY_NAME = {case.name: case for case in CASES}
VARIANTS = ("bare", "ours", "starlette")


def build(case: Case, wraps: dict[str, dict[str, Wrap]], variant: str, app: App) -> App:
    """``app`` as the variant runs it: bare, or inside the case's middleware."""
    return app if variant == "bare" else wraps[case.middleware][variant](app)


# -- checks and timing ----------------------------------------------------------------


def _receive() -> Callable[[], Awaitable[dict[str, Any]]]:
    message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    return receive


async def null_send(message: dict[str, Any]) -> None:
    """A send that drops every message."""


async def check(case: Case, wraps: dict[str, dict[str, Wrap]], variant: str) -> str | None:
    """Run the case once; ``None`` when the reply is right, else what was wrong."""
    seen: dict[str, Any] = {}

    async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await case.endpoint(scope, receive, send)

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    app = build(case, wraps, variant, probe)
    scope = case.scope.copy()
    headers_before = list(scope["headers"])
    try:
        await app(scope, _receive(), send)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        return f"raised {exc!r}"
    if case.scope["headers"] != headers_before:
        return "mutated the scope's header list in place"
    if not messages or messages[0]["type"] != "http.response.start":
        return f"no http.response.start first: {[m['type'] for m in messages]}"
    if messages[0]["status"] != case.status:
        return f"status {messages[0]['status']}, expected {case.status}"
    names = {name.lower() for name, _ in messages[0].get("headers", ())}
    if variant != "bare":
        missing = [n.decode() for n in case.must_have if n not in names]
        if missing:
            return f"missing response headers {missing}"
        extra = [n.decode() for n in case.must_not_have if n in names]
        if extra:
            return f"unexpected response headers {extra}"
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if case.gzipped and variant != "bare":
        body = gzip.decompress(body)
    expected = case.bare_body if variant == "bare" and case.bare_body is not None else case.body
    if body != expected:
        return f"unexpected body {body[:60]!r}"
    if case.verify is not None and variant != "bare":
        return case.verify(seen, messages)
    return None


async def batch(app: App, case: Case, n: int) -> float:
    """Microseconds per request over ``n`` back-to-back requests."""
    scope = case.scope
    receive = _receive()
    send = null_send
    clock = _clock
    start = clock()
    for _ in range(n):
        await app(scope.copy(), receive, send)
    return (clock() - start) / n / 1000


Results = dict[tuple[str, str], list[float]]


async def run(
    cases: list[Case], repeats: int, iterations: int
) -> tuple[Results, Results, list[str]]:
    """Time every case; returns (per-request times, added costs, failures)."""
    wraps = wrappers()
    failures: list[str] = []
    runnable: list[Case] = []
    for case in cases:
        problems = [(v, await check(case, wraps, v)) for v in VARIANTS]
        failures += [f"{v} {case.label}: {p}" for v, p in problems if p is not None]
        if all(p is None for _, p in problems):
            runnable.append(case)
    apps = {(c.name, v): build(c, wraps, v, c.endpoint) for c in runnable for v in VARIANTS}
    for (name, _), app in apps.items():  # warm-up
        await batch(app, CASES_BY_NAME[name], max(1, iterations // 10))
    times: Results = {key: [] for key in apps}
    added: Results = {(c.name, v): [] for c in runnable for v in VARIANTS[1:]}
    for round_no in range(repeats):
        for case in runnable:
            shift = round_no % len(VARIANTS)
            this_round: dict[str, float] = {}
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                gc.collect()
                this_round[variant] = await batch(apps[case.name, variant], case, iterations)
                times[case.name, variant].append(this_round[variant])
            for variant in VARIANTS[1:]:
                added[case.name, variant].append(this_round[variant] - this_round["bare"])
    return times, added, failures


# -- report ---------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f} to {max(values):.2f})"


def _ratio(ours: list[float], theirs: list[float]) -> str:
    a, b = statistics.median(ours), statistics.median(theirs)
    if b <= 0.05:  # Starlette adds (next to) nothing: a ratio would be noise
        return "n/a"
    return f"{a / b:.2f}x"


def report(cases: list[Case], times: Results, added: Results, repeats: int, n: int) -> str:
    clock = next(name for name, c in CLOCKS.items() if c is _clock)
    lines = [
        f"{clock} clock; {repeats} interleaved rounds of {n:,} requests per variant; "
        "microseconds per request, median (min to max) over rounds; "
        "added = middleware minus bare endpoint, paired within each round",
        "",
        "| case | bare us | ours added us | starlette added us | ours/starlette (added) |",
        "|---|---|---|---|---|",
    ]
    for case in cases:
        if (case.name, "ours") not in added:
            lines.append(f"| {case.label} | FAILED | FAILED | FAILED | n/a |")
            continue
        ours, theirs = added[case.name, "ours"], added[case.name, "starlette"]
        lines.append(
            f"| {case.label} | {_fmt(times[case.name, 'bare'])} | {_fmt(ours)} "
            f"| {_fmt(theirs)} | {_ratio(ours, theirs)} |"
        )
    return "\n".join(lines)


def profile(case: Case, variant: str, n: int, top: int) -> str:
    """cProfile of ``n`` requests of one variant, the ``top`` functions by own time."""
    wraps = wrappers()
    app = build(case, wraps, variant, case.endpoint)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(batch(app, case, max(1, n // 10)))
        profiler = cProfile.Profile()
        profiler.enable()
        loop.run_until_complete(batch(app, case, n))
        profiler.disable()
    finally:
        loop.close()
    out = _Sink()
    stats = pstats.Stats(profiler, stream=out)  # type: ignore[arg-type]
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return f"## cProfile: {variant}, {case.label}, {n:,} requests\n" + "".join(out.parts)


class _Sink:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


async def _child(case: Case, variant: str, count: int) -> None:
    """The callgrind child: check once, then ``200 + count`` requests."""
    wraps = wrappers()
    problem = await check(case, wraps, variant)
    if problem is not None:
        raise SystemExit(f"{variant} {case.label}: {problem}")
    await batch(build(case, wraps, variant, case.endpoint), case, 200 + count)


def _instructions(case: str, variant: str, count: int) -> int | str:
    """The instruction total of one child run under callgrind, or why it failed."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, os.path.abspath(__file__), "--child", case, variant, str(count)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        tail = [line for line in done.stderr.splitlines() if not line.startswith("==")][-3:]
        return f"{variant} {case}: exit {done.returncode}: " + " / ".join(tail)
    return int(match.group(1))


def instructions(cases: list[Case], short: int, long: int, jobs: int) -> tuple[str, list[str]]:
    """Instructions per request each middleware adds, as a Markdown table."""
    runs = [(c.name, v, n) for c in cases for v in VARIANTS for n in (short, long)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        totals = dict(zip(runs, pool.map(lambda run: _instructions(*run), runs), strict=True))
    failures = [total for total in totals.values() if isinstance(total, str)]
    lines = [
        f"Instructions per request (callgrind, ({long:,} - {short:,} requests) / {long - short:,})",
        "",
        "| case | bare | ours added | starlette added | ours/starlette (added) |",
        "|---|---|---|---|---|",
    ]
    for case in cases:
        per: dict[str, float] = {}
        for v in VARIANTS:
            a, b = totals[case.name, v, long], totals[case.name, v, short]
            if isinstance(a, int) and isinstance(b, int):
                per[v] = (a - b) / (long - short)
        if len(per) < len(VARIANTS):
            lines.append(f"| {case.label} | FAILED | FAILED | FAILED | n/a |")
            continue
        ours, theirs = per["ours"] - per["bare"], per["starlette"] - per["bare"]
        ratio = f"{ours / theirs:.2f}x" if theirs > 0 else "n/a"
        lines.append(
            f"| {case.label} | {per['bare']:,.0f} | {ours:,.0f} | {theirs:,.0f} | {ratio} |"
        )
    return "\n".join(lines), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts (CI smoke test)")
    parser.add_argument("--repeats", type=int, default=31, help="interleaved rounds (31)")
    parser.add_argument(
        "--iterations", type=int, default=4000, help="requests per batch per variant (4000)"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: process CPU time (default, steadier on a busy machine); wall: perf_counter",
    )
    parser.add_argument("--cases", default=",".join(CASES_BY_NAME), help="comma-separated")
    parser.add_argument(
        "--profile", metavar="CASE", help="print a cProfile ranking for one case instead"
    )
    parser.add_argument("--variant", choices=VARIANTS, default="ours", help="for --profile")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with callgrind instead"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="callgrind jobs")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    if args.child:
        name, variant, count = args.child
        asyncio.run(_child(CASES_BY_NAME[name], variant, int(count)))
        return 0
    if args.profile:
        n = 200 if args.quick else 50_000
        print(profile(CASES_BY_NAME[args.profile], args.variant, n, 25))
        return 0
    cases = [CASES_BY_NAME[name] for name in args.cases.split(",")]
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("valgrind not found: apt-get install -y valgrind", file=sys.stderr)
            return 2
        short, long = (10, 30) if args.quick else (100, 1100)
        table, failures = instructions(cases, short, long, args.jobs)
        print(machine())
        print(table)
        for failure in failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        return 1 if failures else 0
    repeats, iterations = (3, 20) if args.quick else (args.repeats, args.iterations)
    times, added, failures = asyncio.run(run(cases, repeats, iterations))
    print(machine())
    print(report(cases, times, added, repeats, iterations))
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Bounded soak test: the demo app under uvicorn on loopback, hammered by a hostile mix.

    python benchmarks/soak.py                              # 20,000 requests, concurrency 50
    python benchmarks/soak.py --requests 2000 --max-seconds 120
    python benchmarks/soak.py --only upload_oversized --requests 1000   # hunt one leak
    python benchmarks/soak.py --http h11 --ws wsproto --loop asyncio     # other uvicorn stacks

Starts ``uvicorn examples.demo.main:app`` as a subprocess on an ephemeral 127.0.0.1 port
(the listening socket is created here and handed over with ``--fd``, so there is no port
race), then drives a weighted mix of requests with ``httpx.AsyncClient``, the
``websockets`` client and raw asyncio sockets: pages, static files with Range, the JSON
API, uploads, sessions, server-sent events, websockets and background tasks, plus hostile
traffic (malformed JSON, JSON bombs, wrong media types, oversized and malformed uploads,
tampered cookies, traversal) and clients that vanish (aborted uploads, aborted event
streams, websockets dropped without a close handshake).

While it runs, the server's resident memory (``/proc/PID/status`` VmRSS) and its open file
descriptors are sampled. The run fails (exit status 1) when any of these holds:

- a server error: a 5xx response, or a ``Traceback``/``ERROR`` line in the server's output;
- RSS growth >= ``--max-growth`` percent (10) between the mean of the second and of the
  last quarter of the run (quarters of completed requests; the first is warm-up);
- a client-side failure (timeout, reset, protocol error) or a response whose status is
  not one the scenario allows;
- the wall-clock limit (``--max-seconds``) stopped the run before every request was made.

Only 127.0.0.1 is ever contacted, the run is bounded in time (``--max-seconds`` for the
requests, plus at most 30 s to start and 15 s to stop the server), and the server is
stopped at the end. Run it from the test environment (httpx, websockets, uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
APP = "examples.demo.main:app"
HOST = "127.0.0.1"
TIMEOUT = 30.0
MIB = 1024 * 1024
UPLOAD_LIMIT = 5 * MIB  # the demo's default DEMO_MAX_UPLOAD_BYTES
BODY_CAP = UPLOAD_LIMIT + 64 * 1024  # above the demo's RequestLimits(max_body_size=...)
_SERVER_ERROR = re.compile(r"Traceback|\bERROR\b")
_EXCEPTION = re.compile(
    r"[ |+]*((?:\w+\.)*\w*(?:Error|Exception|ExceptionGroup|Exit|Interrupt|Disconnect)\b(?::.*)?)$"
)

# -- outcomes --------------------------------------------------------------------------


@dataclass
class Result:
    """What one scenario did: an HTTP status or a label, its latency, and whether it is ok."""

    kind: str
    outcome: str
    seconds: float
    ok: bool
    detail: str = ""


class Unexpected(Exception):
    """A scenario saw something it does not allow (wrong status, wrong message)."""

    def __init__(self, outcome: str, detail: str = "") -> None:
        super().__init__(f"{outcome}: {detail}")
        self.outcome = outcome
        self.detail = detail


def _expect(response: httpx.Response, *allowed: int) -> str:
    if response.status_code not in allowed:
        raise Unexpected(str(response.status_code), response.text[:200])
    return str(response.status_code)


@dataclass
class Context:
    """Everything the scenarios share."""

    client: httpx.AsyncClient
    port: int
    rng: random.Random
    session_cookie: str
    etag: str
    blobs: dict[int, bytes] = field(default_factory=dict)

    def blob(self, size: int) -> bytes:
        """Reusable random bytes of ``size`` (allocated once per size)."""
        if size not in self.blobs:
            self.blobs[size] = self.rng.randbytes(size)
        return self.blobs[size]


# -- raw sockets (for clients that misbehave on purpose) --------------------------------


async def _raw(
    port: int, head: bytes, body: bytes = b"", *, abort: bool = False, read_head: bool = True
) -> str:
    """Send ``head`` + ``body`` on a fresh connection; return the status line's code.

    With ``read_head=False`` the connection is closed (``abort=True``: reset) right after
    writing, without reading anything: a client that gives up mid-request.
    """
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(head + body)
        await writer.drain()
        if not read_head:
            return "aborted"
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        parts = line.split()
        if len(parts) < 2:
            raise Unexpected("no-response", repr(line[:100]))
        return parts[1].decode("ascii", "replace")
    finally:
        if abort:
            writer.transport.abort()
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _multipart(
    files: Iterable[tuple[str, bytes]], fields: Iterable[tuple[str, bytes]], boundary: str
) -> bytes:
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        )
        chunks += [value, b"\r\n"]
    for filename, data in files:
        chunks.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
        )
        chunks += [data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


# -- scenarios --------------------------------------------------------------------------
# Each returns its outcome label, or raises Unexpected. Weights are relative.


async def home(ctx: Context) -> str:
    return _expect(await ctx.client.get("/"), 200)


async def static(ctx: Context) -> str:
    return _expect(await ctx.client.get("/static/style.css"), 200)


async def static_range(ctx: Context) -> str:
    start = ctx.rng.randrange(0, 500)
    ranges = [f"bytes={start}-{start + 99}", "bytes=-50", f"bytes=0-9,{start}-{start + 20}"]
    headers = {"Range": ctx.rng.choice(ranges)}
    return _expect(await ctx.client.get("/static/style.css", headers=headers), 206)


async def static_cached(ctx: Context) -> str:
    headers = {"If-None-Match": ctx.etag}
    return _expect(await ctx.client.get("/static/style.css", headers=headers), 304)


async def static_bad_range(ctx: Context) -> str:
    value = ctx.rng.choice(["bytes=999999-", "bytes=5-2", "pages=1-2", "bytes=" + "0-1," * 500])
    response = await ctx.client.get("/static/style.css", headers={"Range": value})
    return _expect(response, 200, 206, 400, 416)


async def static_traversal(ctx: Context) -> str:
    path = ctx.rng.choice(
        ["/static/../main.py", "/static/%2e%2e/main.py", "/static/..%2fmain.py", "/static/%00"]
    )
    port = ctx.port
    return await _checked_raw(
        port, _request_head("GET", path, {"Connection": "close"}), "400", "404"
    )


async def _checked_raw(port: int, head: bytes, *allowed: str) -> str:
    status = await _raw(port, head)
    if status not in allowed:
        raise Unexpected(status, head[:80].decode("latin-1"))
    return status


async def items_list(ctx: Context) -> str:
    return _expect(await ctx.client.get("/api/items"), 200)


async def item_get(ctx: Context) -> str:
    item = str(ctx.rng.randrange(1, 60))
    if ctx.rng.random() < 0.1:
        item = ctx.rng.choice(["0", "-1", "9" * 400, "1.5", "%00", "1;drop"])
    return _expect(await ctx.client.get(f"/api/items/{item}"), 200, 404)


async def item_create(ctx: Context) -> str:
    payload = {"name": f"item-{ctx.rng.randrange(10**6)}", "price": ctx.rng.random() * 100}
    return _expect(await ctx.client.post("/api/items", json=payload), 201)


async def item_invalid(ctx: Context) -> str:
    payload = ctx.rng.choice([[], {"name": 3}, {"name": "x", "price": "free"}, {"price": 1}])
    return _expect(await ctx.client.post("/api/items", json=payload), 400)


async def json_malformed(ctx: Context) -> str:
    body = ctx.rng.choice(
        [b'{"name":', b"{'name': 'x'}", b"\xff\xfe\x00garbage", b"", b'{"name": "x"} trailing']
    )
    headers = {"Content-Type": "application/json"}
    return _expect(await ctx.client.post("/api/items", content=body, headers=headers), 400)


async def json_bomb(ctx: Context) -> str:
    depth = ctx.rng.choice([200, 10_000, 100_000])
    body = b"[" * depth + b"]" * depth
    headers = {"Content-Type": "application/json"}
    response = await ctx.client.post("/api/items", content=body, headers=headers)
    return _expect(response, 400, 413)


async def json_wrong_type(ctx: Context) -> str:
    headers = {"Content-Type": ctx.rng.choice(["text/plain", "application/x-www-form-urlencoded"])}
    body = b'{"name": "x"}'
    return _expect(await ctx.client.post("/api/items", content=body, headers=headers), 415)


async def method_not_allowed(ctx: Context) -> str:
    return _expect(await ctx.client.delete("/api/items"), 405)


async def upload(ctx: Context) -> str:
    count = ctx.rng.randint(1, 3)
    sizes = [ctx.rng.choice([100, 4096, 65536]) for _ in range(count)]
    if ctx.rng.random() < 0.1:
        sizes[0] = MIB + 512 * 1024  # past spool_max_size: rolls over to a temporary file
    files = [("files", (f"f{i}.bin", ctx.blob(size))) for i, size in enumerate(sizes)]
    response = await ctx.client.post("/upload", files=files, data={"note": "soak"})
    return _expect(response, 200)


async def upload_too_many_files(ctx: Context) -> str:
    files = [("files", (f"f{i}.bin", ctx.blob(100))) for i in range(4)]
    # asgi_core.formparsers documents 400 for too many files (Starlette's status too)
    return _expect(await ctx.client.post("/upload", files=files), 400, 413)


async def upload_big_field(ctx: Context) -> str:
    data = {"note": "x" * (MIB + 1)}
    files = [("files", ("a.bin", ctx.blob(100)))]
    return _expect(await ctx.client.post("/upload", data=data, files=files), 413)


async def upload_oversized(ctx: Context) -> str:
    """Stream a chunked upload past the body cap until the server refuses it with 413.

    uvicorn answers 413 and closes with the rest of the body unread, so the kernel
    resets the connection and sending fails. The 413 is still in the socket's receive
    queue: it is read from a plain socket (asyncio streams and httpx drop it once a write
    has failed, which shows up as a spurious ReadError or BrokenPipeError).
    """
    boundary = "soak" + secrets.token_hex(8)
    chunk = ctx.blob(64 * 1024)
    first = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n'
    ).encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Transfer-Encoding": "chunked",
    }
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, (HOST, ctx.port))

        async def send_all() -> None:
            with contextlib.suppress(OSError):
                await loop.sock_sendall(sock, _request_head("POST", "/upload", headers))
                for piece in [first] + [chunk] * (BODY_CAP // len(chunk) + 8):
                    await loop.sock_sendall(sock, b"%x\r\n%s\r\n" % (len(piece), piece))

        await asyncio.wait_for(send_all(), TIMEOUT)
        line = await asyncio.wait_for(loop.sock_recv(sock, 64), TIMEOUT)
    parts = line.split()
    status = parts[1].decode("ascii", "replace") if len(parts) > 1 else "no-response"
    if status != "413":
        raise Unexpected(status, "expected 413 for a chunked body past the cap")
    return status


async def upload_declared_oversized(ctx: Context) -> str:
    headers = {
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(10 * 1024 * MIB),
        "Connection": "close",
    }
    return await _checked_raw(ctx.port, _request_head("POST", "/upload", headers), "413")


async def upload_malformed(ctx: Context) -> str:
    content_type, body = ctx.rng.choice(
        [
            ("multipart/form-data", b"--x\r\n\r\n"),  # no boundary parameter
            ("multipart/form-data; boundary=x", b"garbage without any boundary"),
            ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; na"),
            ("multipart/form-data; boundary=" + "b" * 200, b"--b\r\n"),
        ]
    )
    headers = {"Content-Type": content_type}
    return _expect(await ctx.client.post("/upload", content=body, headers=headers), 400)


async def upload_aborted(ctx: Context) -> str:
    boundary = "soak" + secrets.token_hex(8)
    body = _multipart([("half.bin", ctx.blob(256 * 1024))], [("note", b"x")], boundary)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
    }
    cut = ctx.rng.randrange(1, len(body) - 1)
    head = _request_head("POST", "/upload", headers)
    abort = ctx.rng.random() < 0.5
    return await _raw(ctx.port, head, body[:cut], abort=abort, read_head=False)


async def login(ctx: Context) -> str:
    data = {"username": "demo", "password": "demo", "next": "/private"}
    response = await ctx.client.post("/login", data=data)
    outcome = _expect(response, 303)
    if "session=" not in response.headers.get("set-cookie", ""):
        raise Unexpected("no-cookie", str(response.headers))
    return outcome


async def form_too_many_fields(ctx: Context) -> str:
    data = {f"f{i}": "x" for i in range(1500)}  # max_fields defaults to 1000
    return _expect(await ctx.client.post("/login", data=data), 400)


async def form_oversized(ctx: Context) -> str:
    body = b"username=" + b"x" * (3 * MIB)  # max_buffered_size defaults to 2.5 MiB
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return _expect(await ctx.client.post("/login", content=body, headers=headers), 413)


async def login_bad(ctx: Context) -> str:
    data = {"username": "demo", "password": ctx.rng.choice(["", "wrong", "x" * 5000])}
    return _expect(await ctx.client.post("/login", data=data), 401)


async def private(ctx: Context) -> str:
    headers = {"Cookie": f"session={ctx.session_cookie}"}
    return _expect(await ctx.client.get("/private", headers=headers), 200)


async def private_anonymous(ctx: Context) -> str:
    cookie = ctx.rng.choice(
        [
            "",
            "session=" + ctx.session_cookie[:-4] + "AAAA",  # tampered signature
            "session=not.a.session",
            "session=" + "A" * 8000,
            'session="unterminated; other=1',
            "=;;=;session",
        ]
    )
    headers = {"Cookie": cookie} if cookie else {}
    return _expect(await ctx.client.get("/private", headers=headers), 303)


async def notify(ctx: Context) -> str:
    return _expect(await ctx.client.post("/api/notify"), 202)


async def notify_log(ctx: Context) -> str:
    return _expect(await ctx.client.get("/api/notify"), 200)


async def schema(ctx: Context) -> str:
    return _expect(await ctx.client.get("/schema"), 200)


async def sse_aborted(ctx: Context) -> str:
    """Open the clock's event stream, read the first event, then go away."""
    reader, writer = await asyncio.open_connection(HOST, ctx.port)
    try:
        writer.write(_request_head("GET", "/clock/stream", {"Accept": "text/event-stream"}))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        status = head.split(b" ", 2)[1].decode()
        if status != "200":
            raise Unexpected(status, head[:200].decode("latin-1"))
        event = await asyncio.wait_for(reader.readuntil(b"\n\n"), TIMEOUT)
        if b"event: tick" not in event:
            raise Unexpected("bad-event", repr(event[:200]))
        return "200+aborted"
    finally:
        if ctx.rng.random() < 0.5:
            writer.transport.abort()
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _ws_url(ctx: Context, name: str) -> str:
    return f"ws://{HOST}:{ctx.port}/ws/chat?name={name}"


async def ws_chat(ctx: Context) -> str:
    """Join the chat, say something, wait to hear it back, leave cleanly."""
    name = "s" + secrets.token_hex(6)
    text = "hello " + secrets.token_hex(4)
    async with ws_connect(_ws_url(ctx, name), open_timeout=TIMEOUT, close_timeout=5) as ws:
        await ws.send(text)

        async def hear_back() -> None:
            while json.loads(await ws.recv()) != {"from": name, "text": text}:
                pass

        await asyncio.wait_for(hear_back(), TIMEOUT)
    return "ws-ok"


async def _until_closed(ws: Any) -> int | None:
    """Read (and drop) messages until the server closes; return its close code."""
    try:
        while True:  # broadcasts from other chatters may arrive before the close frame
            await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def ws_binary(ctx: Context) -> str:
    """Send a binary frame to an endpoint that reads text: the server must close, not die."""
    name = "b" + secrets.token_hex(6)
    async with ws_connect(_ws_url(ctx, name), open_timeout=TIMEOUT, close_timeout=5) as ws:
        await ws.send(b"\x00\x01binary")
        code = await asyncio.wait_for(_until_closed(ws), TIMEOUT)
    if code != 1003:
        raise Unexpected(f"ws-close-{code}", "expected 1003 (unsupported data)")
    return "ws-closed-1003"


async def ws_dropped(ctx: Context) -> str:
    """Join the chat, then drop the TCP connection without a closing handshake."""
    name = "d" + secrets.token_hex(6)
    ws = await ws_connect(_ws_url(ctx, name), open_timeout=TIMEOUT, close_timeout=5)
    await ws.recv()
    ws.transport.abort()
    with contextlib.suppress(ConnectionClosed):
        await ws.wait_closed()
    return "ws-dropped"


Scenario = Callable[[Context], Awaitable[str]]
SCENARIOS: dict[str, tuple[float, Scenario]] = {
    "home": (8, home),
    "static": (6, static),
    "static_range": (4, static_range),
    "static_cached": (2, static_cached),
    "static_bad_range": (1, static_bad_range),
    "static_traversal": (1, static_traversal),
    "items_list": (7, items_list),
    "item_get": (7, item_get),
    "item_create": (4, item_create),
    "item_invalid": (2, item_invalid),
    "json_malformed": (3, json_malformed),
    "json_bomb": (1, json_bomb),
    "json_wrong_type": (2, json_wrong_type),
    "method_not_allowed": (1, method_not_allowed),
    "upload": (6, upload),
    "upload_too_many_files": (1, upload_too_many_files),
    "upload_big_field": (1, upload_big_field),
    "upload_oversized": (0.5, upload_oversized),
    "upload_declared_oversized": (1, upload_declared_oversized),
    "upload_malformed": (2, upload_malformed),
    "upload_aborted": (3, upload_aborted),
    "login": (3, login),
    "login_bad": (2, login_bad),
    "form_too_many_fields": (1, form_too_many_fields),
    "form_oversized": (0.5, form_oversized),
    "private": (4, private),
    "private_anonymous": (3, private_anonymous),
    "notify": (3, notify),
    "notify_log": (1, notify_log),
    "schema": (2, schema),
    "sse_aborted": (5, sse_aborted),
    "ws_chat": (7, ws_chat),
    "ws_binary": (1, ws_binary),
    "ws_dropped": (2, ws_dropped),
}

# -- the server ---------------------------------------------------------------------------


@dataclass
class Sample:
    elapsed: float
    done: int
    rss_kib: int
    fds: int


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _start_server(args: argparse.Namespace, log: Any) -> tuple[subprocess.Popen[bytes], int]:
    """Start uvicorn on a listening socket made here, so the port is never raced."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(2048)
    port: int = listener.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", args.app, "--app-dir", str(args.app_dir)]
    command += ["--fd", str(listener.fileno())]
    command += ["--no-access-log", "--http", args.http, "--ws", args.ws, "--loop", args.loop]
    command += ["--backlog", "2048", "--timeout-graceful-shutdown", "5"]
    env = dict(os.environ, DEMO_SECRET_KEY=secrets.token_urlsafe(32), PYTHONUNBUFFERED="1")
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    finally:
        listener.close()
    return process, port


async def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with status {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the demo app did not answer GET / within 30 s")


def _stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the run ----------------------------------------------------------------------------


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    stopped_early: bool = False
    elapsed: float = 0.0


async def _prepare(client: httpx.AsyncClient) -> tuple[str, str]:
    """A valid session cookie (for /private) and the stylesheet's ETag (for 304s)."""
    response = await client.post("/login", data={"username": "demo", "password": "demo"})
    cookie = response.cookies.get("session") or ""
    if response.status_code != 303 or not cookie:
        raise RuntimeError(f"logging in failed: {response.status_code} {response.headers}")
    etag = (await client.get("/static/style.css")).headers.get("etag", "")
    if not etag:
        raise RuntimeError("the stylesheet has no ETag")
    return cookie, etag


async def _drive(args: argparse.Namespace, pid: int, port: int) -> Run:
    run = Run()
    rng = random.Random(args.seed)
    names = args.only or list(SCENARIOS)
    plan = rng.choices(names, weights=[SCENARIOS[n][0] for n in names], k=args.requests)
    next_index = 0
    started = time.monotonic()
    deadline = started + args.max_seconds

    def sample() -> None:
        with contextlib.suppress(OSError, RuntimeError):
            run.samples.append(
                Sample(time.monotonic() - started, len(run.results), _rss_kib(pid), _fd_count(pid))
            )

    async def sampler() -> None:
        while True:
            sample()
            await asyncio.sleep(args.sample_interval)

    # Cookies are sent explicitly where wanted; a jar that refuses everything keeps one
    # scenario's session from leaking into the others.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout,
    # so the client never races the server's close by reusing a connection being closed.
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=None, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}",
        timeout=TIMEOUT,
        limits=limits,
        cookies=jar,
        follow_redirects=False,
    ) as client:
        cookie, etag = await _prepare(client)
        ctx = Context(client, port, random.Random(args.seed + 1), cookie, etag)

        async def worker() -> None:
            nonlocal next_index
            while next_index < len(plan) and time.monotonic() < deadline:
                kind = plan[next_index]
                next_index += 1
                begin = time.perf_counter()
                try:
                    outcome, ok, detail = await SCENARIOS[kind][1](ctx), True, ""
                except Unexpected as error:
                    outcome, ok, detail = error.outcome, False, error.detail
                except Exception as error:  # noqa: BLE001 - every client-side failure is reported
                    outcome, ok, detail = f"client:{type(error).__name__}", False, str(error)
                run.results.append(
                    Result(kind, outcome, time.perf_counter() - begin, ok, detail[:300])
                )

        sampling = asyncio.create_task(sampler())
        workers = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
        # Hard bound: whatever is still in flight TIMEOUT seconds past the limit is cancelled.
        _, pending = await asyncio.wait(workers, timeout=args.max_seconds + TIMEOUT + 5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        run.elapsed = time.monotonic() - started
        run.stopped_early = len(run.results) < len(plan)
        sample()
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    return run


# -- the report -------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _quarters(run: Run, total: int) -> list[list[Sample]]:
    quarters: list[list[Sample]] = [[], [], [], []]
    for item in run.samples:
        quarters[min(3, item.done * 4 // max(1, total))].append(item)
    return quarters


def _exceptions(log_text: str) -> Counter[str]:
    """The ``SomeError: message`` lines of the tracebacks in the server's output.

    Exception-group tracebacks (``  | ...``) are read too, one line per sub-exception.
    """
    return Counter(
        match.group(1) for line in log_text.splitlines() if (match := _EXCEPTION.match(line))
    )


def _report(args: argparse.Namespace, run: Run, log_text: str, fds_idle: int | None) -> int:
    done = len(run.results)
    print(f"\nsoak: {done} of {args.requests} requests in {run.elapsed:.1f} s", end="")
    print(f" ({done / max(run.elapsed, 1e-9):.0f}/s), concurrency {args.concurrency}")

    by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in run.results:
        by_kind[result.kind].append(result)
    header = f"{'kind':<26}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}  outcomes"
    print("\n" + header + "\n" + "-" * len(header))
    for kind in SCENARIOS:
        results = by_kind.get(kind, [])
        if not results:
            continue
        latencies = [r.seconds * 1000 for r in results]
        outcomes = Counter(r.outcome for r in results)
        shown = ", ".join(f"{name} x{count}" for name, count in sorted(outcomes.items()))
        print(
            f"{kind:<26}{len(results):>7}{_percentile(latencies, 0.5):>9.1f}"
            f"{_percentile(latencies, 0.99):>9.1f}  {shown}"
        )
    latencies = [r.seconds * 1000 for r in run.results]
    if latencies:
        print(
            f"{'all':<26}{done:>7}{_percentile(latencies, 0.5):>9.1f}"
            f"{_percentile(latencies, 0.99):>9.1f}"
        )

    statuses = Counter(r.outcome for r in run.results)
    print("\noutcomes: " + ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())))

    quarters = _quarters(run, args.requests)
    print(f"\n{'quarter':<9}{'samples':>8}{'mean RSS MiB':>14}{'max RSS MiB':>13}{'max fds':>9}")
    means: list[float | None] = []
    for number, samples in enumerate(quarters, 1):
        if samples:
            mean = statistics.fmean(s.rss_kib for s in samples) / 1024
            peak = max(s.rss_kib for s in samples) / 1024
            fds = max(s.fds for s in samples)
            print(f"Q{number:<8}{len(samples):>8}{mean:>14.1f}{peak:>13.1f}{fds:>9}")
            means.append(mean)
        else:
            print(f"Q{number:<8}{0:>8}{'-':>14}{'-':>13}{'-':>9}")
            means.append(None)
    if run.samples:
        first, last = run.samples[0], run.samples[-1]
        print(f"RSS first/last sample: {first.rss_kib / 1024:.1f} / {last.rss_kib / 1024:.1f} MiB")
        print(f"open fds first/last sample: {first.fds} / {last.fds}", end="")
        print(f", after 2 s idle: {fds_idle}" if fds_idle is not None else "")

    failures: list[str] = []
    server_5xx = sum(1 for r in run.results if r.outcome[:1] == "5")
    error_lines = [line for line in log_text.splitlines() if _SERVER_ERROR.search(line)]
    other = Counter(
        line.strip()
        for line in log_text.splitlines()
        if line.strip() and not line.startswith("INFO:") and not _SERVER_ERROR.search(line)
    )
    print(f"\nserver errors: {server_5xx} 5xx responses, {len(error_lines)} Traceback/ERROR lines")
    for line, count in other.most_common(5):  # warnings, stray prints: not failures
        print(f"other server output x{count}: {line[:150]}")
    if server_5xx or error_lines:
        failures.append(f"{server_5xx + len(error_lines)} server errors")
        for kind, count in Counter(r.kind for r in run.results if r.outcome[:1] == "5").items():
            print(f"  5xx: {kind} x{count}")
        for line, count in Counter(error_lines).most_common(5):
            print(f"  server log x{count}: {line[:200]}")
        for line, count in _exceptions(log_text).most_common(10):
            print(f"  exception x{count}: {line[:200]}")

    q2, q4 = means[1], means[3]
    if q2 is None or q4 is None:
        growth_text = "n/a (too few samples in Q2 or Q4)"
        failures.append("RSS growth could not be measured")
    else:
        growth = (q4 - q2) / q2 * 100
        growth_text = f"{growth:+.2f}% (Q2 mean {q2:.1f} MiB -> Q4 mean {q4:.1f} MiB)"
        if growth >= args.max_growth:
            failures.append(f"RSS grew {growth:.2f}% >= {args.max_growth}%")
    print(f"RSS growth Q2 -> Q4: {growth_text}")

    bad = [r for r in run.results if not r.ok and r.outcome[:1] != "5"]
    if bad:
        failures.append(f"{len(bad)} unexpected outcomes or client failures")
        for (kind, outcome), count in Counter((r.kind, r.outcome) for r in bad).most_common(10):
            example = next(r for r in bad if r.kind == kind and r.outcome == outcome)
            print(f"  unexpected: {kind} -> {outcome} x{count}: {example.detail[:150]!r}")
    if run.stopped_early:
        failures.append(f"stopped by --max-seconds {args.max_seconds} after {done} requests")

    print("\nRESULT: " + ("FAIL (" + "; ".join(failures) + ")" if failures else "PASS"))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests to make")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--max-seconds", type=float, default=600, help="wall-clock limit")
    parser.add_argument("--max-growth", type=float, default=10.0, help="RSS growth limit, %%")
    parser.add_argument("--sample-interval", type=float, default=0.2, help="RSS sampling, s")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix")
    parser.add_argument("--http", default="auto", help="uvicorn --http (auto, h11, httptools)")
    parser.add_argument("--ws", default="auto", help="uvicorn --ws (auto, websockets, wsproto)")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto, asyncio, uvloop)")
    parser.add_argument("--log", type=Path, help="keep the server's output in this file")
    parser.add_argument(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated scenario kinds to run (to hunt one leak); default: the full mix",
    )
    parser.add_argument("--app", default=APP, help="the app (serving the demo's routes)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="where --app imports from")
    args = parser.parse_args(argv)
    if args.requests < 4 or args.concurrency < 1:
        parser.error("--requests must be >= 4 and --concurrency >= 1")
    unknown = sorted(set(args.only or ()) - set(SCENARIOS))
    if unknown or args.only == []:
        parser.error(f"--only: unknown kinds {unknown}; choose from {', '.join(SCENARIOS)}")

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        log_path = args.log or Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            process, port = _start_server(args, log)
            fds_idle: int | None = None
            try:
                asyncio.run(_wait_ready(process, port))
                print(f"uvicorn pid {process.pid} on http://{HOST}:{port} ({args.app})")
                run = asyncio.run(_drive(args, process.pid, port))
                time.sleep(2)  # let background tasks and closing sockets settle
                with contextlib.suppress(OSError):
                    fds_idle = _fd_count(process.pid)
            finally:
                _stop_server(process)
        log_text = log_path.read_text(errors="replace")
        if process.returncode not in (0, -signal.SIGINT):
            print(f"uvicorn exited with status {process.returncode}")
            log_text += "\nERROR: uvicorn exited with status " + str(process.returncode)
        return _report(args, run, log_text, fds_idle)


if __name__ == "__main__":
    sys.exit(main())

"""TechEmpower Framework Benchmarks' six test types: this framework against Starlette.

    python benchmarks/techempower/run.py --smoke     # CI: each test once per framework,
                                                     # answers checked, nothing timed
    python benchmarks/techempower/run.py             # uvicorn + wrk table (a few minutes)
    python benchmarks/techempower/run.py --duration 5 --rounds 3 --connections 64

Both apps (``app_ours.py``, ``app_starlette.py``) share the database code (``db.py``,
asyncpg) and the Jinja2 template. The script starts its own PostgreSQL (Debian's
``postgresql`` package: initdb in a temporary directory, the server on a free
127.0.0.1 port, stopped by its own pid at the end), creates the database
``hello_world`` and fills it as TechEmpower does. ``--smoke`` runs every test type once
per framework in process and checks the answers against TechEmpower's requirements;
without PostgreSQL it tries ``apt-get install -y postgresql`` and, only if that is not
possible, says so and exits 0. The timed mode runs one uvicorn worker per framework on
CPU 0, wrk on CPU 1, interleaved rounds; req/s and the server's CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import html
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # benchmarks/: server.py's helpers

import db  # noqa: E402

FRAMEWORKS = {"ours": "app_ours", "starlette": "app_starlette"}
DATABASE = "hello_world"
# test type -> the path wrk requests (TechEmpower's URLs; 20 queries for 3 and 5)
TESTS = {
    "json": "/json",
    "db": "/db",
    "queries": "/queries?queries=20",
    "fortunes": "/fortunes",
    "updates": "/updates?queries=20",
    "plaintext": "/plaintext",
}
LABELS = {
    "json": "JSON serialization",
    "db": "Single query",
    "queries": "Multiple queries (20)",
    "fortunes": "Fortunes",
    "updates": "Data updates (20)",
    "plaintext": "Plaintext",
}


# -- PostgreSQL -----------------------------------------------------------------------


def _postgres_bin() -> str | None:
    """The bin directory of the newest Debian PostgreSQL, or of pg_ctl on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _install_postgres() -> str | None:
    """Try Debian's package (root or sudo only); the bin directory, or None."""
    if _postgres_bin() is None and shutil.which("apt-get"):
        sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
        if sudo is not None:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            print("--- installing postgresql (apt-get)", flush=True)
            subprocess.run(
                [*sudo, "apt-get", "install", "-y", "-qq", "postgresql"],
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
    return _postgres_bin()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def postgres(bindir: str) -> Iterator[str]:
    """A throw-away PostgreSQL on 127.0.0.1; yields the admin DSN. Run as the
    ``postgres`` user when we are root (initdb refuses root)."""
    run_as: dict[str, Any] = {}
    tmp = tempfile.mkdtemp(prefix="tfb-pg-")
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(tmp, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    data = os.path.join(tmp, "data")
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                os.path.join(bindir, "initdb"),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=tmp,
            **run_as,
        )
        log = open(os.path.join(tmp, "postgres.log"), "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [
                os.path.join(bindir, "postgres"),
                "-D",
                data,
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                tmp,
                "-c",
                "max_connections=200",
                "-c",
                "synchronous_commit=off",
                "-c",
                "shared_buffers=128MB",
            ],
            stdout=log,
            stderr=log,
            cwd=tmp,
            **run_as,
        )
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.flush()
                with open(
                    os.path.join(tmp, "postgres.log"), encoding="utf-8", errors="replace"
                ) as fh:
                    raise RuntimeError("postgres exited:\n" + fh.read()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not listen within 60 s")
            time.sleep(0.1)
        time.sleep(0.3)  # listening precedes accepting logins by a moment
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# -- in process (smoke) ---------------------------------------------------------------


async def _lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[Any]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    message = await asyncio.wait_for(outbox.get(), 30)
    if message["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"startup failed: {message}")
    return task, inbox


async def _request(app: Any, path_qs: str) -> tuple[int, dict[str, str], bytes]:
    path, _, query = path_qs.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "state": {},
    }
    sent = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], headers, body


def _is_world(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"id", "randomNumber"}
        and all(isinstance(v, int) and 1 <= v <= db.WORLD_ROWS for v in value.values())
    )


def _check_json(status: int, headers: dict[str, str], body: bytes) -> str | None:
    if not headers.get("content-type", "").startswith("application/json"):
        return f"content-type {headers.get('content-type')!r}"
    if json.loads(body) != db.JSON_MESSAGE:
        return f"body {body[:80]!r}"
    return None


def _worlds_checker(count: int) -> Any:
    def check(status: int, headers: dict[str, str], body: bytes) -> str | None:
        if not headers.get("content-type", "").startswith("application/json"):
            return f"content-type {headers.get('content-type')!r}"
        value = json.loads(body)
        if not isinstance(value, list) or len(value) != count:
            return f"expected a list of {count} worlds, got {body[:80]!r}"
        if not all(_is_world(w) for w in value):
            return f"not worlds: {body[:80]!r}"
        return None

    return check


def _check_db(status: int, headers: dict[str, str], body: bytes) -> str | None:
    if not headers.get("content-type", "").startswith("application/json"):
        return f"content-type {headers.get('content-type')!r}"
    return None if _is_world(json.loads(body)) else f"not a world: {body[:80]!r}"


_ROW = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>")


def _check_fortunes(status: int, headers: dict[str, str], body: bytes) -> str | None:
    if headers.get("content-type", "").replace(" ", "").lower() != "text/html;charset=utf-8":
        return f"content-type {headers.get('content-type')!r}"
    text = body.decode("utf-8")
    rows = [(int(i), m) for i, m in _ROW.findall(text)]
    expected = sorted([*db.FORTUNES, (0, db.EXTRA_FORTUNE)], key=lambda row: row[1])
    if [(i, html.unescape(m)) for i, m in rows] != expected:
        return f"rows {rows[:3]!r}... are not the 13 fortunes sorted by message"
    if "<script>" in text or "&lt;script&gt;" not in text:
        return "the <script> fortune is not HTML-escaped"
    if not text.lstrip().lower().startswith("<!doctype html>") or "<th>id</th>" not in text:
        return "not the fortunes page"
    return None


def _check_plaintext(status: int, headers: dict[str, str], body: bytes) -> str | None:
    if not headers.get("content-type", "").startswith("text/plain"):
        return f"content-type {headers.get('content-type')!r}"
    return None if body == db.PLAINTEXT.encode() else f"body {body!r}"


# (test type, path, checker); the queries parameter is clamped to 1..500
SMOKE = [
    ("json", "/json", _check_json),
    ("db", "/db", _check_db),
    ("queries", "/queries?queries=20", _worlds_checker(20)),
    ("queries", "/queries", _worlds_checker(1)),
    ("queries", "/queries?queries=foo", _worlds_checker(1)),
    ("queries", "/queries?queries=0", _worlds_checker(1)),
    ("queries", "/queries?queries=501", _worlds_checker(500)),
    ("fortunes", "/fortunes", _check_fortunes),
    ("updates", "/updates?queries=20", _worlds_checker(20)),
    ("updates", "/updates?queries=foo", _worlds_checker(1)),
    ("updates", "/updates?queries=501", _worlds_checker(500)),
    ("plaintext", "/plaintext", _check_plaintext),
]


async def _updates_persisted(app: Any, dsn: str) -> str | None:
    """The rows an /updates answer returns are in the table afterwards."""
    import asyncpg

    _, _, body = await _request(app, "/updates?queries=10")
    worlds = {w["id"]: w["randomNumber"] for w in json.loads(body)}
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id, randomnumber FROM world WHERE id = ANY($1::int[])", list(worlds)
        )
    finally:
        await connection.close()
    stored = {row["id"]: row["randomnumber"] for row in rows}
    return None if stored == worlds else f"updated rows not stored: {worlds} vs {stored}"


async def smoke(dsn: str, frameworks: list[str]) -> list[str]:
    import importlib

    failures = []
    for name in frameworks:
        app = importlib.import_module(FRAMEWORKS[name]).app
        task, inbox = await _lifespan(app)
        try:
            for test, path, checker in SMOKE:
                status, headers, body = await _request(app, path)
                problem = f"status {status}" if status != 200 else checker(status, headers, body)
                print(f"{name:10} {test:10} {path:24} {'ok' if problem is None else problem}")
                if problem is not None:
                    failures.append(f"{name} {path}: {problem}")
            problem = await _updates_persisted(app, dsn)
            print(f"{name:10} {'updates':10} {'(rows stored)':24} {problem or 'ok'}")
            if problem:
                failures.append(f"{name} updates: {problem}")
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await asyncio.wait_for(task, 30)
    return failures


# -- under uvicorn --------------------------------------------------------------------


def _server_headers(port: int) -> str | None:
    """TechEmpower requires Server and Date headers: ask once, over loopback."""
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower().split("\r\n")
    names = {line.split(":", 1)[0] for line in lines[1:]}
    missing = {"server", "date"} - names
    return f"missing headers {sorted(missing)}" if missing else None


def timed(dsn: str, args: argparse.Namespace) -> int:
    from server import _wait_for, _wrk, machine  # benchmarks/server.py

    frameworks = args.frameworks.split(",")
    tests = args.tests.split(",")
    env = dict(os.environ, TFB_DSN=f"{dsn}/{DATABASE}", TFB_POOL=str(args.pool))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    rps: dict[tuple[str, str], list[float]] = {(f, t): [] for f in frameworks for t in tests}
    cpu: dict[tuple[str, str], list[float]] = {(f, t): [] for f in frameworks for t in tests}
    try:
        for name in frameworks:
            port = _free_port()
            command = ["taskset", "-c", args.server_cpu, sys.executable, "-m", "uvicorn"]
            command += [f"{FRAMEWORKS[name]}:app", "--app-dir", HERE, "--host", "127.0.0.1"]
            command += ["--port", str(port), "--workers", "1", "--loop", "uvloop"]
            command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
            processes[name] = subprocess.Popen(command, cwd=HERE, env=env)
            _wait_for(port, processes[name])
            ports[name] = port
            problem = _server_headers(port)
            if problem:
                raise RuntimeError(f"{name}: {problem}")
        for name in frameworks:  # warm-up, not recorded
            for test in tests:
                _wrk(
                    args.client_cpu,
                    ports[name],
                    TESTS[test],
                    1,
                    args.connections,
                    processes[name].pid,
                )
        for round_no in range(args.rounds):
            shift = round_no % len(frameworks)
            for test in tests:
                for name in frameworks[shift:] + frameworks[:shift]:
                    r, c = _wrk(
                        args.client_cpu,
                        ports[name],
                        TESTS[test],
                        args.duration,
                        args.connections,
                        processes[name].pid,
                    )
                    rps[name, test].append(r)
                    cpu[name, test].append(c)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    print(machine())
    print(
        f"uvicorn (httptools, uvloop, 1 worker on CPU {args.server_cpu}, asyncpg pool "
        f"{args.pool}), PostgreSQL on 127.0.0.1 (unpinned), wrk -t1 -c{args.connections} "
        f"-d{args.duration}s on CPU {args.client_cpu}; median (min-max) over {args.rounds} rounds"
    )
    print()
    header = "| test type | " + " | ".join(f"{f} req/s" for f in frameworks)
    header += " | " + " | ".join(f"{f} CPU us/req" for f in frameworks)
    two = frameworks == ["ours", "starlette"]
    if two:
        header += " | ours/starlette req/s | ours/starlette CPU"
    print(header + " |")
    print("|---" * (1 + 2 * len(frameworks) + (2 if two else 0)) + "|")
    for test in tests:
        cells = []
        for f in frameworks:
            values = rps[f, test]
            median = statistics.median(values)
            cells.append(f"{median:,.0f} ({min(values):,.0f}-{max(values):,.0f})")
        cells += [f"{statistics.median(cpu[f, test]):.0f}" for f in frameworks]
        if two:
            for data in (rps, cpu):
                ratio = statistics.median(data["ours", test]) / statistics.median(
                    data["starlette", test]
                )
                cells.append(f"{ratio:.2f}x")
        print(f"| {LABELS[test]} (`{TESTS[test]}`) | " + " | ".join(cells) + " |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="in process, answers checked (CI)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--tests", default=",".join(TESTS))
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool", type=int, default=16, help="asyncpg pool size per server")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--client-cpu", default="1")
    args = parser.parse_args(argv)
    bindir = _install_postgres() if args.smoke else _postgres_bin()
    if bindir is None:
        message = (
            "PostgreSQL is not installed and could not be installed (apt-get install -y postgresql)"
        )
        if args.smoke:
            print(f"SKIPPED: {message}")
            return 0
        print(message, file=sys.stderr)
        return 2
    if not args.smoke:
        for tool in ("wrk", "taskset"):
            if shutil.which(tool) is None:
                print(f"{tool} not found: apt-get install -y {tool}", file=sys.stderr)
                return 2
    with postgres(bindir) as admin:
        dsn = f"{admin}/{DATABASE}"
        asyncio.run(db.create(f"{admin}/postgres", dsn, DATABASE))
        if not args.smoke:
            return timed(admin, args)
        os.environ["TFB_DSN"] = dsn
        os.environ.setdefault("TFB_POOL", "4")
        failures = asyncio.run(smoke(dsn, args.frameworks.split(",")))
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    print("techempower smoke: " + ("FAILED" if failures else "all answers ok (nothing timed)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

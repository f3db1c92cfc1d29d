"""The workload every mode shares: the cases, the scopes a server would build, checks.

A *case* is one request against one of an app module's ``APPS`` tables. The scope is
built once, as uvicorn (httptools) would build it, and shallow-copied per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from apps.common import (
    CORS_ORIGIN,
    FILE_SIZE,
    FORM_BODY,
    FORM_REPLY,
    JSON_PAYLOAD,
    LAYER_COUNTS,
    PLAINTEXT,
    ROUTE_COUNTS,
    UPLOAD_BODY,
    UPLOAD_BOUNDARY,
    UPLOAD_REPLY,
    USER_ID,
    table_path,
)

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

FRAMEWORKS = {
    "raw": "apps.raw",
    "ours": "apps.ours",
    "starlette": "apps.starlette_app",
    "blacksheep": "apps.blacksheep_app",
    "falcon": "apps.falcon_app",
}
# A framework without a table for a case (Falcon has no gzip and no sessions) shows "-".
MISSING = "-"

_BASE_HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"*/*"),
]


@dataclass(frozen=True)
class Case:
    """One request: which app table, method, path, extra headers, body, expected reply."""

    name: str
    label: str
    table: str
    method: str
    path: str
    expect: Callable[[bytes], bool]
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    expect_header: tuple[bytes, bytes] | None = None
    scope: dict[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        headers = list(_BASE_HEADERS) + list(self.headers)
        if self.body:
            headers.append((b"content-length", str(len(self.body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},  # as uvicorn 0.54 sends
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 51000),
            "scheme": "http",
            "method": self.method,
            "root_path": "",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "headers": headers,
            "state": {},
        }
        object.__setattr__(self, "scope", scope)

    def receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        """A fresh minimal receive: the whole body in one message, then it waits, as a
        server's receive does until the client disconnects (the wait is cancellable)."""
        message = {"type": "http.request", "body": self.body, "more_body": False}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return message
            await asyncio.get_running_loop().create_future()  # never completes
            raise AssertionError("unreachable")  # pragma: no cover

        return receive


def _json_is(value: Any) -> Callable[[bytes], bool]:
    return lambda body: json.loads(body) == value


CASES = [
    Case("plaintext", "GET /plaintext", "main", "GET", "/plaintext", PLAINTEXT.__eq__),
    Case("json", "GET /json", "main", "GET", "/json", _json_is(JSON_PAYLOAD)),
    Case("users", "GET /users/{id:int}", "main", "GET", f"/users/{USER_ID}", _json_is({"id": 42})),
    Case(
        "form",
        "POST /form (urlencoded)",
        "main",
        "POST",
        "/form",
        FORM_REPLY.__eq__,
        headers=((b"content-type", b"application/x-www-form-urlencoded"),),
        body=FORM_BODY,
    ),
    Case(
        "upload",
        "POST /upload (multipart, 2 fields + 4 KiB file)",
        "main",
        "POST",
        "/upload",
        UPLOAD_REPLY.__eq__,
        headers=((b"content-type", b"multipart/form-data; boundary=" + UPLOAD_BOUNDARY),),
        body=UPLOAD_BODY,
    ),
    Case(
        "middleware",
        "CORS+GZip+sessions /json",
        "middleware",
        "GET",
        "/json",
        _json_is(JSON_PAYLOAD),
        headers=(
            (b"origin", CORS_ORIGIN.encode()),
            (b"accept-encoding", b"gzip, deflate, br"),
        ),
        expect_header=(b"access-control-allow-origin", CORS_ORIGIN.encode()),
    ),
    Case("file", "FileResponse 64 KiB", "main", "GET", "/file", lambda b: len(b) == FILE_SIZE),
]
# The route-count scaling series: a table of N routes, hit at its last route.
ROUTE_CASES = [
    Case(f"routes{n}", f"{n} routes, last", f"routes{n}", "GET", table_path(n), PLAINTEXT.__eq__)
    for n in ROUTE_COUNTS
]
# The middleware-layering series: /plaintext behind N pass-through middleware.
LAYER_CASES = [
    Case(
        f"layers{n}", f"{n} middleware layers", f"layers{n}", "GET", "/plaintext", PLAINTEXT.__eq__
    )
    for n in LAYER_COUNTS
]
CASES += ROUTE_CASES + LAYER_CASES
CASES_BY_NAME = {case.name: case for case in CASES}


def load(framework: str) -> dict[str, App]:
    """The ``APPS`` tables of one variant (a case whose table is missing is not run)."""
    module = importlib.import_module(FRAMEWORKS[framework])
    apps: dict[str, App] = module.APPS
    return apps


async def null_send(message: dict[str, Any]) -> None:
    """A send that drops every message, as cheap as a send can be."""


async def check(app: App, case: Case) -> str | None:
    """Run the case once; ``None`` when the reply is right, else what was wrong."""
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers_before = list(case.scope["headers"])
    try:
        await app(case.scope.copy(), case.receive(), send)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        return f"raised {exc!r}"
    if case.scope["headers"] != headers_before:
        return "the app mutated the scope's header list in place"
    starts = [m for m in messages if m["type"] == "http.response.start"]
    if len(starts) != 1:
        return f"expected one http.response.start, got {[m['type'] for m in messages]}"
    if starts[0]["status"] != 200:
        return f"status {starts[0]['status']}"
    # Header names are case-insensitive (BlackSheep sends them as written: Title-Case).
    headers = [(name.lower(), value) for name, value in starts[0]["headers"]]
    if case.expect_header is not None and case.expect_header not in headers:
        return f"missing header {case.expect_header!r}"
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if not case.expect(body):
        return f"unexpected body {body[:80]!r}"
    return None


def machine() -> str:
    """One line on where the numbers come from: CPUs, Python, versions, load."""
    from importlib import metadata

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for dist in (
        "asgi-core",
        "asgi-responses",
        "asgi-routing",
        "asgi-middleware",
        "asgi-app",
        "starlette",
        "blacksheep",
        "falcon",
        "uvicorn",
        "uvloop",
        "httptools",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{dist} {metadata.version(dist)}")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}, "
        + ", ".join(versions)
        + f"; load average {load}"
    )


def ratio_columns(frameworks: list[str]) -> list[tuple[str, str]]:
    """The ratio columns of a table: ours against each other variant in it."""
    if "ours" not in frameworks:
        return []
    return [("ours", other) for other in frameworks if other != "ours"]


def markdown_table(
    cases: list[Case],
    frameworks: list[str],
    cell: Callable[[str, str], str | None],
    median: Callable[[str, str], float | None],
    first: str = "case",
) -> list[str]:
    """One row per case, one column per variant, then ours/other ratios of the medians.

    ``cell`` gives a variant's text for a case (None: the variant has no such table, "-";
    "FAILED" when its answer was wrong); ``median`` the number the ratios divide."""
    ratios = ratio_columns(frameworks)
    lines = [
        f"| {first} | " + " | ".join(frameworks + [f"{a}/{b}" for a, b in ratios]) + " |",
        "|---" * (len(frameworks) + len(ratios) + 1) + "|",
    ]
    for case in cases:
        cells = []
        for name in frameworks:
            text = cell(case.name, name)
            cells.append(MISSING if text is None else text)
        for a, b in ratios:
            x, y = median(case.name, a), median(case.name, b)
            if x is None or not y:
                cells.append(MISSING)
            else:
                cells.append(f"{x / y:.2f}x" if x / y >= 0.1 else f"1/{y / x:,.0f}")
        lines.append(f"| {case.label} | " + " | ".join(cells) + " |")
    return lines

"""What the variants share: payloads, the route tables, the layer counts and the 64 KiB file."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from typing import Any

PLAINTEXT = b"Hello, World!"
JSON_PAYLOAD = {"message": "Hello, World!"}
USER_ID = 42
FORM_BODY = b"name=alice&age=30&city=Paris"  # three fields
FORM_REPLY = b"alice:30:Paris"
# A multipart upload: two text fields and one 4 KiB file, as a browser's form sends it.
UPLOAD_BOUNDARY = b"----benchmarkBoundary7MA4YWxkTrZu0gW"
UPLOAD_FILE = bytes(range(256)) * 16  # 4 KiB, every byte value
UPLOAD_BODY = b"".join(
    [
        b"--" + UPLOAD_BOUNDARY + b"\r\n",
        b'Content-Disposition: form-data; name="name"\r\n\r\nalice\r\n',
        b"--" + UPLOAD_BOUNDARY + b"\r\n",
        b'Content-Disposition: form-data; name="city"\r\n\r\nParis\r\n',
        b"--" + UPLOAD_BOUNDARY + b"\r\n",
        b'Content-Disposition: form-data; name="doc"; filename="notes.bin"\r\n',
        b"Content-Type: application/octet-stream\r\n\r\n",
        UPLOAD_FILE,
        b"\r\n--" + UPLOAD_BOUNDARY + b"--\r\n",
    ]
)
UPLOAD_REPLY = b"alice:Paris:notes.bin:4096"
FILE_SIZE = 64 * 1024
SESSION_SECRET = "benchmark-secret-key"
CORS_ORIGIN = "https://example.com"

# Route tables of N parameterised routes ``/resource{i}/{item_id:int}``, each hit at
# its LAST route (the worst case for a router that scans in order).
ROUTE_TEMPLATE = "/resource{i}/{{item_id:int}}"
ROUTE_COUNTS = (10, 100, 1000, 10000)
# The middleware-layering series: /plaintext behind 0..3 pass-through middleware.
LAYER_COUNTS = (0, 1, 2, 3)


def table_path(count: int) -> str:
    """The request path that hits the last route of a ``count``-route table."""
    return f"/resource{count - 1}/{USER_ID}"


def route_paths(count: int) -> list[str]:
    """The templates of a route table with ``count`` routes, in declaration order."""
    return [ROUTE_TEMPLATE.format(i=i) for i in range(count)]


class Tables(dict):  # type: ignore[type-arg]
    """An app module's ``APPS``: the ready tables, plus the route-count and layering
    series built on first use (Falcon takes about 100 s of CPU to add 10,000 routes, so
    a run builds only the tables its cases need)."""

    def __init__(self, ready: dict[str, Any], builders: dict[str, Callable[[], Any]]) -> None:
        super().__init__(ready)
        self._builders = builders

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._builders

    def __missing__(self, name: str) -> Any:
        value = self._builders[name]()
        self[name] = value
        return value


def series(route_table: Callable[[int], Any], layers: Callable[[int], Any]) -> dict[str, Any]:
    """The builders of a variant's ``routes{N}`` and ``layers{N}`` tables."""
    builders: dict[str, Callable[[], Any]] = {}
    for n in ROUTE_COUNTS:
        builders[f"routes{n}"] = functools.partial(route_table, n)
    for n in LAYER_COUNTS:
        builders[f"layers{n}"] = functools.partial(layers, n)
    return builders


class PassThrough:
    """A pure ASGI middleware that does nothing: one layer of the layering series.

    Raw, this framework and Starlette use it as is (it is the idiomatic middleware of
    all three); BlackSheep and Falcon get their own no-op in their middleware APIs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def file_path() -> str:
    """A 64 KiB file in the temporary directory, created once (deterministic bytes)."""
    path = os.path.join(tempfile.gettempdir(), "asgi-bench-64k.bin")
    try:
        if os.path.getsize(path) == FILE_SIZE:
            return path
    except OSError:
        pass
    data = bytes(range(256)) * (FILE_SIZE // 256)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path


FILE_PATH = file_path()

"""What the three variants share: payloads, the route tables and the 64 KiB file."""

from __future__ import annotations

import os
import tempfile

PLAINTEXT = b"Hello, World!"
JSON_PAYLOAD = {"message": "Hello, World!"}
USER_ID = 42
FORM_BODY = b"name=alice&age=30"
FORM_REPLY = b"alice:30"
FILE_SIZE = 64 * 1024
SESSION_SECRET = "benchmark-secret-key"
CORS_ORIGIN = "https://example.com"

# A route table of N parameterised routes ``/resource{i}/{item_id:int}``; the big one
# is hit at its last route, the small one at its first.
ROUTE_TEMPLATE = "/resource{i}/{{item_id:int}}"
BIG_TABLE = 1000
SMALL_TABLE = 10
BIG_TABLE_PATH = f"/resource{BIG_TABLE - 1}/{USER_ID}"
SMALL_TABLE_PATH = f"/resource0/{USER_ID}"


def route_paths(count: int) -> list[str]:
    """The templates of a route table with ``count`` routes, in declaration order."""
    return [ROUTE_TEMPLATE.format(i=i) for i in range(count)]


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

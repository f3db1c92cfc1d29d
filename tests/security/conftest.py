"""Shared tools for the security tests: a real uvicorn server and a raw HTTP client.

Some attack shapes (a malformed ``Host``, a request target that does not start with
``/``, a method name no client library sends) cannot go through an HTTP client
library, so these tests start uvicorn on 127.0.0.1 (an ephemeral port) in a thread
and write the request bytes to a socket themselves.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from asgi_core.types import ASGIApp


@dataclass
class RawResponse:
    """A response read off a socket: status, lower-cased headers, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


def _read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    length = next((int(v) for k, v in headers if k == "content-length"), None)
    if length is not None:
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        rest = rest[:length]
    return RawResponse(status, headers, rest)


class LiveServer:
    """A uvicorn server running ``app`` in a background thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def request(self, raw: bytes) -> RawResponse:
        """Send ``raw`` (a whole request) and read one response."""
        with self.connect() as sock:
            sock.sendall(raw)
            return _read_response(sock)


@pytest.fixture
def live_server() -> Iterator[Callable[[ASGIApp], LiveServer]]:
    """Start uvicorn around an app: ``server = live_server(app)``."""
    servers: list[LiveServer] = []

    def start(app: ASGIApp) -> LiveServer:
        server = LiveServer(app)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class Cost:
    """What a block of code cost: wall time in seconds and peak traced memory in bytes."""

    seconds: float = 0.0
    peak_bytes: int = 0


class _Measure:
    def __init__(self, memory: bool = True) -> None:
        self.cost = Cost()
        self._memory = memory

    def __enter__(self) -> Cost:
        if self._memory:
            tracemalloc.start()
        self._start = time.perf_counter()
        return self.cost

    def __exit__(self, *exc_info: object) -> None:
        self.cost.seconds = time.perf_counter() - self._start
        if self._memory:
            self.cost.peak_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


@pytest.fixture
def measure() -> Callable[..., _Measure]:
    """``with measure() as cost: ...`` then assert on ``cost.seconds`` / ``cost.peak_bytes``.

    ``measure(memory=False)`` only times the block (tracemalloc slows allocation-heavy
    code several times over).

    The issue asks each hostile-input test to assert a (generous) time bound and,
    where relevant, bounded memory; tracemalloc counts Python allocations only.
    """
    return _Measure

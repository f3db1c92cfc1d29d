"""Drive ASGI apps with hand-written receive/send callables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

Message = dict[str, Any]
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@dataclass
class Result:
    """What an app sent: the start message's status and headers, and the body."""

    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.messages[0]["headers"])

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.raw_headers if k == key]

    @property
    def body(self) -> bytes:
        return b"".join(
            bytes(m.get("body", b"")) for m in self.messages if m["type"] == "http.response.body"
        )

    @property
    def complete(self) -> bool:
        last = self.messages[-1]
        return last["type"] == "http.response.pathsend" or (
            last["type"] == "http.response.body" and not last.get("more_body", False)
        )


def make_scope(
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    **extra: Any,
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    scope.update(extra)
    return scope


async def idle_receive() -> Message:
    """The request has no body, and the client stays connected."""
    await anyio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover


async def run(
    app: App,
    /,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    receive: Callable[[], Awaitable[Message]] = idle_receive,
    **extra: Any,
) -> Result:
    result = Result()

    async def send(message: Message) -> None:
        result.messages.append(message)

    await app(make_scope(method, path, headers, **extra), receive, send)
    return result


Runner = Callable[..., Awaitable[Result]]


@pytest.fixture
def call() -> Runner:
    """``await call(app, method, path, headers, receive=..., **scope_keys)`` -> Result."""
    return run


@pytest.fixture
def scope() -> Callable[..., dict[str, Any]]:
    """``scope(method, path, headers, **scope_keys)`` -> an HTTP scope dict."""
    return make_scope

"""Hand-written ASGI drivers for the routing tests (no test client needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from asgi_core.types import ASGIApp, Message, Scope


@dataclass
class HTTPResult:
    status: int
    headers: dict[str, str]
    body: bytes
    scope: Scope
    messages: list[Message] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode()


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    root_path: str = "",
    host: str | None = "testserver",
    query: bytes = b"",
    **extra: Any,
) -> Scope:
    headers = [] if host is None else [(b"host", host.encode())]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    scope.update(extra)
    return scope


class Driver:
    """Runs an ASGI app against a scope and collects what it sends."""

    async def http(
        self, asgi_app: ASGIApp, method: str = "GET", path: str = "/", /, **kwargs: Any
    ) -> HTTPResult:
        return await self.run_http(asgi_app, http_scope(method, path, **kwargs))

    async def run_http(self, app: ASGIApp, scope: Scope, body: bytes = b"") -> HTTPResult:
        sent: list[Message] = []
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return HTTPResult(start["status"], headers, payload, scope, sent)

    async def websocket(
        self,
        asgi_app: ASGIApp,
        path: str,
        incoming: list[Message] | None = None,
        /,
        **kwargs: Any,
    ) -> list[Message]:
        scope = http_scope("GET", path, **kwargs)
        scope["type"] = "websocket"
        del scope["method"]
        scope["subprotocols"] = []
        queue: list[Message] = [{"type": "websocket.connect"}, *(incoming or [])]
        queue.append({"type": "websocket.disconnect", "code": 1000})
        sent: list[Message] = []

        async def receive() -> Message:
            return queue.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        await asgi_app(scope, receive, send)
        return sent

    async def lifespan(
        self, app: ASGIApp, *, state: dict[str, Any] | None = None
    ) -> tuple[list[Message], BaseException | None]:
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        if state is not None:
            scope["state"] = state
        incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[Message] = []

        async def receive() -> Message:
            return incoming.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        error: BaseException | None = None
        try:
            await app(scope, receive, send)
        except Exception as exc:
            error = exc
        return sent, error


@pytest.fixture
def driver() -> Driver:
    return Driver()

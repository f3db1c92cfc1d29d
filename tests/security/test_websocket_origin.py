"""A WebSocket origin policy: foreign-Origin handshakes are refused with 403.

Browsers send cookies with cross-site WebSocket handshakes and WebSockets are not
covered by CORS, so any page can open a socket to an app with the user's session
(cross-site WebSocket hijacking) unless the server checks ``Origin``.

``asgi_middleware.websocket_origin.WebSocketOriginMiddleware(app, allow_origins=None,
allow_origin_regex=None)``: ``None`` means same-origin (the Origin's scheme and
host[:port] must be the handshake's own). A handshake without Origin (not a browser)
is let through. A refused handshake gets a 403 HTTP response when the server
supports the ``websocket.http.response`` extension, else a close before accept
(servers answer that with 403). HTTP requests pass through untouched.
"""

from __future__ import annotations

from typing import Any

import pytest

from asgi_app import App
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_middleware import Middleware
from asgi_middleware.websocket_origin import WebSocketOriginMiddleware
from asgi_routing import WebSocketRoute

pytestmark = pytest.mark.anyio


def origin_middleware(app: ASGIApp, **kwargs: Any) -> ASGIApp:
    return WebSocketOriginMiddleware(app, **kwargs)


async def accepting_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})
    else:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def handshake(
    app: ASGIApp, origin: bytes | None, host: bytes = b"app.example", extension: bool = True
) -> list[dict[str, Any]]:
    headers = [(b"host", host)]
    if origin is not None:
        headers.append((b"origin", origin))
    scope = {
        "type": "websocket",
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if extension else {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://app.example.evil.example",
        b"http://app.example:8080",
        b"https://app.example",
        b"http://app.example/path",
        b"http://user@app.example",
        b"http://app.example, http://evil.example",
        b"null",
        b"",
        b"\xff\xfe",
    ],
)
async def test_foreign_origin_handshake_is_403(origin: bytes) -> None:
    inner_called: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        inner_called.append(True)
        await accepting_app(scope, receive, send)

    sent = await handshake(origin_middleware(app), origin)
    assert inner_called == []
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == 403
    assert all(message["type"] != "websocket.accept" for message in sent)


async def test_foreign_origin_without_http_response_extension_is_closed() -> None:
    sent = await handshake(
        origin_middleware(accepting_app), b"http://evil.example", extension=False
    )
    assert sent[0]["type"] == "websocket.close"


@pytest.mark.parametrize("origin", [b"http://app.example", b"HTTP://APP.EXAMPLE:80", None])
async def test_same_origin_or_no_origin_is_accepted(origin: bytes | None) -> None:
    sent = await handshake(origin_middleware(accepting_app), origin)
    assert sent[0]["type"] == "websocket.accept"


async def test_allowed_origins_and_regex() -> None:
    app = origin_middleware(
        accepting_app,
        allow_origins=["https://trusted.example"],
        allow_origin_regex=r"https://.*\.trusted\.example",
    )
    listed = await handshake(app, b"https://trusted.example")
    matched = await handshake(app, b"https://a.trusted.example")
    foreign = await handshake(app, b"https://trusted.example.evil")
    assert listed[0]["type"] == "websocket.accept"
    assert matched[0]["type"] == "websocket.accept"
    assert foreign[0]["status"] == 403


async def test_http_requests_pass_through() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"origin", b"http://x")]}
    await origin_middleware(accepting_app)(scope, receive, send)
    assert sent[0]["status"] == 204


def test_foreign_origin_handshake_is_403_on_a_real_server(live_server) -> None:
    """The issue's shape end to end: uvicorn, a real handshake, a foreign Origin."""

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app = App(
        routes=[WebSocketRoute("/ws", echo)],
        middleware=[Middleware(WebSocketOriginMiddleware)],
    )
    server = live_server(app)
    request = (
        b"GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nOrigin: "
    )
    foreign = server.request(request + b"http://evil.example\r\n\r\n")
    same = server.request(request + b"http://app.example\r\n\r\n")
    assert foreign.status == 403
    assert same.status == 101

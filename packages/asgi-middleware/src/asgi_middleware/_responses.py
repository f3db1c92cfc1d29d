"""Complete ``text/plain`` answers sent as raw ASGI messages: HTTP responses and
WebSocket handshake denials."""

from __future__ import annotations

from collections.abc import Iterable

from asgi_core.types import Scope, Send
from asgi_middleware._headers import RawHeaders


def _plain_headers(body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    return [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("latin-1")),
        *headers,
    ]


async def send_plain(
    send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete ``text/plain`` response."""
    body = text.encode("utf-8")
    await send(
        {"type": "http.response.start", "status": status, "headers": _plain_headers(body, headers)}
    )
    await send({"type": "http.response.body", "body": body})


async def deny_websocket(
    scope: Scope,
    send: Send,
    status: int,
    text: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Refuse a WebSocket handshake: an HTTP response when the server supports the
    ``websocket.http.response`` extension, otherwise a close (code 1008)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = text.encode("utf-8")
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": _plain_headers(body, headers),
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": text})

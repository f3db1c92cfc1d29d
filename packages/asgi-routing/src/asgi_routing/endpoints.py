"""Class-based endpoints: one method per HTTP verb, or WebSocket event hooks."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, NoReturn, cast

from asgi_core.concurrency import is_async_callable, run_in_threadpool
from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request
from asgi_core.status import (
    WS_1000_NORMAL_CLOSURE,
    WS_1003_UNSUPPORTED_DATA,
    WS_1011_INTERNAL_ERROR,
)
from asgi_core.types import Message, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_responses import PlainTextResponse, Response

__all__ = ["HTTPEndpoint", "WebSocketEndpoint"]

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


class HTTPEndpoint:
    """Subclass and define ``get``, ``post``... taking a Request, returning a Response.

    Used as a route's endpoint (the class itself is the ASGI app). Only the standard
    methods GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS and QUERY (safe, with a body)
    are dispatched; HEAD uses ``get`` unless ``head`` is defined. Anything else answers
    405 with ``Allow``.
    Sync handlers run in the thread pool.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("HTTPEndpoint only handles HTTP requests.")
        self.scope = scope
        self.receive = receive
        self.send = send
        self._allowed_methods = [
            method
            for method in _METHODS
            if getattr(self, method.lower(), None) is not None
            or (method == "HEAD" and getattr(self, "get", None) is not None)
        ]

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Call the handler for the request's method and send its response."""
        request = Request(self.scope, receive=self.receive, send=self.send)
        method = request.method
        name = method.lower()
        if method == "HEAD" and getattr(self, "head", None) is None:
            name = "get"
        handler = getattr(self, name, None) if method in _METHODS else None
        if handler is None:
            handler = self.method_not_allowed
        if is_async_callable(handler):
            response = await handler(request)
        else:
            response = await run_in_threadpool(handler, request)
        await cast(Response, response)(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        """405 with ``Allow`` (raised as HTTPException inside an app)."""
        headers = {"Allow": ", ".join(self._allowed_methods)}
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


class _UnsupportedData(Exception):
    """Raised by :meth:`WebSocketEndpoint.decode` once it closed the connection (1003)."""


class WebSocketEndpoint:
    """Subclass and override ``on_connect``, ``on_receive`` and ``on_disconnect``.

    ``encoding`` decodes each message before ``on_receive`` (see :meth:`decode`):
    ``"text"``, ``"bytes"``, ``"json"`` or ``None`` (as received). A message of the
    wrong kind closes the connection with 1003 (unsupported data), then
    ``on_disconnect`` runs.
    """

    encoding: str | None = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise RuntimeError("WebSocketEndpoint only handles WebSocket connections.")
        if self.encoding not in (None, "text", "bytes", "json"):
            raise ValueError(f"Unsupported WebSocketEndpoint encoding {self.encoding!r}.")
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        """Run the connection: connect, then receive until the client disconnects."""
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        await self.on_connect(websocket)
        close_code = WS_1000_NORMAL_CLOSURE
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    close_code = int(message.get("code") or WS_1000_NORMAL_CLOSURE)
                    break
                try:
                    data = await self.decode(websocket, message)
                except _UnsupportedData:
                    close_code = WS_1003_UNSUPPORTED_DATA
                    break
                await self.on_receive(websocket, data)
        except Exception:
            close_code = WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """The data of a ``websocket.receive`` message, as ``encoding`` says.

        ``"text"`` needs the message's ``text`` and ``"bytes"`` its ``bytes``; ``"json"``
        parses either (bytes as UTF-8, -16 or -32); ``None`` gives whichever is set. A
        message without what the encoding needs (or invalid JSON) closes the connection
        with 1003 and ends the receive loop. Override it to decode differently.
        """
        text: str | None = message.get("text")
        data: bytes | None = message.get("bytes")
        if self.encoding == "text":
            if text is None:
                await _reject(websocket, "Expected text websocket messages, but got bytes.")
            return text
        if self.encoding == "bytes":
            if data is None:
                await _reject(websocket, "Expected bytes websocket messages, but got text.")
            return data
        if self.encoding == "json":
            try:
                return json.loads(text if text is not None else data or b"")
            except (ValueError, RecursionError):
                await _reject(websocket, "Malformed JSON data received.")
        return text if text is not None else data or b""

    async def on_connect(self, websocket: WebSocket) -> None:
        """Called when the connection opens; accepts it by default."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Called with each decoded message."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Called when the connection ends, with its close code."""


async def _reject(websocket: WebSocket, reason: str) -> NoReturn:
    """Close with 1003 (unsupported data) and end the endpoint's receive loop."""
    await websocket.close(code=WS_1003_UNSUPPORTED_DATA, reason=reason)
    raise _UnsupportedData(reason)

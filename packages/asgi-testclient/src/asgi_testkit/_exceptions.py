"""Exceptions the test client raises in the test."""

from __future__ import annotations

import httpx

from asgi_core.websockets import WebSocketDisconnect

__all__ = ["WebSocketDenialResponse", "WebSocketDisconnect"]


class WebSocketDenialResponse(httpx.Response, Exception):  # type: ignore[misc]
    """The app refused a websocket handshake with an HTTP response.

    Raised by ``websocket_connect`` when the app uses the ASGI "websocket.http.response"
    extension. It is an ``httpx.Response`` too: read ``status_code``, ``headers``, ``text``.
    """

    def __str__(self) -> str:
        return f"The app denied the websocket connection with HTTP {self.status_code}"

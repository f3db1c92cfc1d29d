"""Redirect plain ``http``/``ws`` requests to ``https``/``wss``."""

from __future__ import annotations

from asgi_core.datastructures import find_header
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._hosts import normalized_host
from asgi_middleware._redirects import redirect_location
from asgi_middleware._responses import deny_websocket, send_plain

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE = {"http": "https", "ws": "wss"}
# The ASGI spec: a scope without "scheme" is plain http (or ws); never fail open.
_DEFAULT_SCHEME = {"http": "http", "websocket": "ws"}


class HTTPSRedirectMiddleware(Wraps):
    """Send every insecure request to the same URL over TLS.

    HTTP requests get a 307 (the method and body are kept). A WebSocket handshake
    gets a 307 too when the server supports the ``websocket.http.response``
    extension, else it is closed. The default ports 80 and 443 are dropped from the
    new URL; any other port is kept. A malformed ``Host`` header is refused (400).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("scheme") in ("https", "wss"):  # the hot path: one lookup, no redirect
            await self._call(scope, receive, send)
            return
        kind = scope["type"]
        default = _DEFAULT_SCHEME.get(kind)
        scheme = None if default is None else _SECURE.get(scope.get("scheme", default))
        if scheme is None:
            await self._call(scope, receive, send)
            return
        location = _location(scope, scheme)
        if kind == "http":
            if location is None:
                await send_plain(send, 400, "Invalid host header")
            else:
                await send_plain(send, 307, "", [(b"location", location)])
        elif location is None:
            await deny_websocket(scope, send, 400, "Invalid host header")
        else:
            await deny_websocket(scope, send, 307, "", [(b"location", location)])


def _location(scope: Scope, scheme: str) -> bytes | None:
    host_header = find_header(scope["headers"], b"host")
    if host_header is not None:
        parsed = normalized_host(host_header.decode("latin-1"))
        if parsed is None:
            return None
        host, port = parsed
    elif scope.get("server"):
        host, server_port = scope["server"]
        port = server_port
    else:
        return None
    if port in (80, 443):
        port = None
    return redirect_location(scope, scheme, host, port)

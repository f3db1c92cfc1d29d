"""Refuse WebSocket handshakes from foreign origins (cross-site WebSocket hijacking).

Browsers attach cookies to a WebSocket handshake whatever page opens it, and the
same-origin policy does not apply to WebSockets: without a check on ``Origin``,
any web site can talk to a WebSocket endpoint as the logged-in user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware._chain import Wraps
from asgi_middleware._origins import (
    compile_origin_regex,
    normalize_origin,
    normalized_origins,
    origin_trusted,
    parse_origin,
    request_origin,
)
from asgi_middleware._responses import deny_websocket
from asgi_middleware.cors import CORSMiddleware

__all__ = ["DENIED_TEXT", "WebSocketOriginMiddleware", "normalize_origin", "parse_origin"]

DENIED_TEXT = "Forbidden: WebSocket Origin not allowed"


class WebSocketOriginMiddleware(Wraps):
    """Refuse (403) WebSocket handshakes whose ``Origin`` is not allowed.

    With ``allow_origins=None`` (the default) only same-origin handshakes pass: the
    ``Origin`` must equal the request's own scheme (``ws`` -> ``http``, ``wss`` ->
    ``https``) and ``Host``. A list allows exactly the origins it names (compared
    case-insensitively, default ports ignored); ``"*"`` allows every origin, which
    turns the protection off. ``allow_origin_regex`` must match the whole
    (normalized) origin. A handshake without ``Origin`` comes from a non-browser
    client and is allowed; ``"null"`` and malformed origins are refused. HTTP and
    lifespan scopes pass through untouched, and so does an allowed connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Iterable[str] | None = None,
        allow_origin_regex: str | re.Pattern[str] | None = None,
    ) -> None:
        origins = None if allow_origins is None else list(allow_origins)
        self.app = app
        self.allow_same_origin = origins is None
        self.allow_all_origins = origins is not None and "*" in origins
        self.allow_origins = normalized_origins(origins or (), strict=True)
        self.allow_origin_regex = compile_origin_regex(allow_origin_regex)

    @classmethod
    def from_cors(
        cls, app: ASGIApp, cors: CORSMiddleware | Middleware
    ) -> WebSocketOriginMiddleware:
        """Allow the origins a configured :class:`CORSMiddleware` allows, plus same-origin.

        ``cors`` is a CORSMiddleware or a ``Middleware(CORSMiddleware, ...)``
        declaration. CORS never restricts same-origin requests, so neither does
        this. A wildcard ``"*"`` is reused only with ``allow_credentials=True``: a
        handshake always carries cookies, which a CORS wildcard without credentials
        never granted. Entries that are not origins (they can never match) are
        skipped.
        """
        if isinstance(cors, Middleware):
            built = cors.build(app)
            if not isinstance(built, CORSMiddleware):
                raise TypeError(f"from_cors() needs a CORSMiddleware declaration, got {cors!r}")
            cors = built
        middleware = cls(app, allow_origin_regex=cors.allow_origin_regex)
        middleware.allow_all_origins = cors.allow_all_origins and cors.allow_credentials
        middleware.allow_origins = normalized_origins(cors.allow_origins, strict=False)
        return middleware

    def _allowed(self, origin: str, scope: Scope, host: bytes | None) -> bool:
        parsed = parse_origin(origin)
        if parsed is None:
            return False
        return origin_trusted(
            parsed,
            own=request_origin(scope, host) if self.allow_same_origin else None,
            origins=self.allow_origins,
            regex=self.allow_origin_regex,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or self.allow_all_origins:
            await self._call(scope, receive, send)
            return
        origin: bytes | None = None
        host: bytes | None = None
        origins = hosts = 0
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
                origins += 1
            elif key == b"host":
                host = value
                hosts += 1
        if origin is None or (
            origins == 1
            and self._allowed(origin.decode("latin-1"), scope, host if hosts == 1 else None)
        ):
            await self._call(scope, receive, send)
            return
        # The spec has the app receive websocket.connect before it answers.
        message = await receive()
        if message["type"] == "websocket.connect":
            await deny_websocket(scope, send, 403, DENIED_TEXT)

"""Cross-Origin Resource Sharing (the Fetch standard's CORS protocol)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._utils import RawHeaders, add_vary, send_plain

__all__ = ["ALL_METHODS", "SAFELISTED_HEADERS", "CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})

_CORS_RESPONSE_HEADERS = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-expose-headers",
    }
)


class CORSMiddleware:
    """Answer CORS preflight requests and add CORS headers to other responses.

    A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
    is answered here: 200 when the origin, method, headers (and private-network
    access) are allowed, else 400 saying what was refused. Other requests reach
    the app; when their origin is allowed the response gets the CORS headers.

    ``"*"`` in ``allow_origins``, ``allow_methods`` or ``allow_headers`` allows any.
    With ``allow_credentials`` the wildcard is never sent (browsers reject it): the
    request's origin, method or headers are echoed instead. ``allow_origin_regex``
    must match the whole origin. ``Vary: Origin`` is added to every response whose
    headers depend on the origin.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
        allow_private_network: bool = False,
    ) -> None:
        self.app = app
        self.allow_all_origins = "*" in allow_origins
        self.allow_origins = frozenset(origin for origin in allow_origins if origin != "*")
        self.allow_origin_regex = (
            re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        )
        self.allow_all_methods = "*" in allow_methods
        self.allow_methods = frozenset(m.upper() for m in allow_methods if m != "*")
        self.allow_all_headers = "*" in allow_headers
        self.allow_headers = (
            frozenset(h.strip().lower() for h in allow_headers if h != "*") | SAFELISTED_HEADERS
        )
        self.allow_credentials = allow_credentials
        self.allow_private_network = allow_private_network
        self.max_age = max_age
        # The response depends on Origin unless every origin gets the same "*".
        self._wildcard = self.allow_all_origins and not allow_credentials
        simple: RawHeaders = []
        if allow_credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        if expose_headers:
            simple.append(
                (b"access-control-expose-headers", ", ".join(expose_headers).encode("latin-1"))
            )
        self._simple_headers = simple
        preflight: RawHeaders = [(b"access-control-max-age", str(max_age).encode("latin-1"))]
        if allow_credentials:
            preflight.append((b"access-control-allow-credentials", b"true"))
        self._preflight_headers = preflight
        self._methods_value = ", ".join(sorted(self.allow_methods)).encode("latin-1")
        self._headers_value = ", ".join(sorted(self.allow_headers)).encode("latin-1")

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` may read responses."""
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        regex = self.allow_origin_regex
        return regex is not None and regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin: bytes | None = None
        method_requested: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"origin":
                if origin is None:
                    origin = value
            elif key == b"access-control-request-method":
                method_requested = value
        if origin is None:
            if self._wildcard:
                await self.app(scope, receive, send)
            else:
                await self.app(scope, receive, self._vary_only(send))
            return
        if scope["method"] == "OPTIONS" and method_requested is not None:
            await self._preflight(scope, origin, method_requested, send)
            return
        await self.app(scope, receive, self._simple(origin, send))

    def _allow_origin_value(self, origin: bytes) -> bytes:
        return b"*" if self._wildcard else origin

    async def _preflight(self, scope: Scope, origin: bytes, method: bytes, send: Send) -> None:
        requested_headers: list[str] = []
        private_network = False
        for key, value in scope["headers"]:
            if key == b"access-control-request-headers":
                requested_headers.extend(
                    item
                    for item in (h.strip().lower() for h in value.decode("latin-1").split(","))
                    if item
                )
            elif key == b"access-control-request-private-network":
                private_network = value.strip().lower() == b"true"
        refused: list[str] = []
        if not self.is_allowed_origin(origin.decode("latin-1")):
            refused.append("origin")
        if (
            not self.allow_all_methods
            and method.decode("latin-1").upper() not in self.allow_methods
        ):
            refused.append("method")
        if not self.allow_all_headers and any(
            header not in self.allow_headers for header in requested_headers
        ):
            refused.append("headers")
        if private_network and not self.allow_private_network:
            refused.append("private network access")
        vary: RawHeaders = [] if self._wildcard else [(b"vary", b"Origin")]
        if refused:
            await send_plain(send, 400, "Disallowed CORS " + ", ".join(refused), vary)
            return
        headers: RawHeaders = [
            (b"access-control-allow-origin", self._allow_origin_value(origin)),
            *vary,
            (
                b"access-control-allow-methods",
                method if self.allow_all_methods else self._methods_value,
            ),
        ]
        if self.allow_all_headers:
            if requested_headers:
                headers.append(
                    (
                        b"access-control-allow-headers",
                        ", ".join(requested_headers).encode("latin-1"),
                    )
                )
        else:
            headers.append((b"access-control-allow-headers", self._headers_value))
        headers.extend(self._preflight_headers)
        if private_network:
            headers.append((b"access-control-allow-private-network", b"true"))
        await send_plain(send, 200, "OK", headers)

    def _vary_only(self, send: Send) -> Send:
        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                add_vary(headers, b"Origin")
                message["headers"] = headers
            await send(message)

        return send_with_vary

    def _simple(self, origin: bytes, send: Send) -> Send:
        allowed = self.is_allowed_origin(origin.decode("latin-1"))
        wildcard = self._wildcard
        extra = self._simple_headers

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if allowed:
                    headers = [h for h in headers if h[0].lower() not in _CORS_RESPONSE_HEADERS]
                    headers.append((b"access-control-allow-origin", b"*" if wildcard else origin))
                    headers.extend(extra)
                if not wildcard:
                    add_vary(headers, b"Origin")
                message["headers"] = headers
            await send(message)

        return send_with_cors

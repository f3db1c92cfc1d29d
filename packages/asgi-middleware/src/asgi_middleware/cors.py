"""Cross-Origin Resource Sharing (the Fetch standard's CORS protocol)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Collection

from asgi_core.datastructures import Headers, MutableHeaders, find_header
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._headers import RawHeaders, add_vary
from asgi_middleware._responses import send_plain
from asgi_responses.responses import PlainTextResponse, Response

__all__ = [
    "ALL_METHODS",
    "PREFLIGHT_VARY",
    "SAFELISTED_HEADERS",
    "WILDCARD_CREDENTIALS_WARNING",
    "CORSMiddleware",
]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
"""What ``allow_methods=["*"]`` lists in ``Access-Control-Allow-Methods``."""
SAFELISTED_HEADERS = frozenset({"Accept", "Accept-Language", "Content-Language", "Content-Type"})
"""Request headers always allowed (the Fetch standard's CORS-safelisted ones)."""
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)
"""The ``Vary`` of every preflight answer: each request header it depends on."""

_LOG = logging.getLogger(__name__)

WILDCARD_CREDENTIALS_WARNING = (
    'CORSMiddleware: allow_origins=["*"] with allow_credentials=True lets every web site '
    "read this app's responses with the user's cookies: each request's Origin is echoed "
    "with Access-Control-Allow-Credentials. List the origins you trust instead."
)
"""What is logged (WARNING, logger ``asgi_middleware.cors``) for that configuration."""

_CORS_RESPONSE_HEADERS = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-expose-headers",
    }
)
_CORS_NAME_LENGTHS = frozenset(len(name) for name in _CORS_RESPONSE_HEADERS)
_MERGED_NAME_LENGTHS = _CORS_NAME_LENGTHS | {len(b"vary")}
_VARY_ORIGIN = (b"vary", b"Origin")


def _allowed_headers_value(allow_headers: Collection[str]) -> str:
    """The configured headers as written, sorted with the safelisted ones; a name given
    twice (in any case) is listed once."""
    chosen: dict[str, str] = {}
    for name in sorted({*SAFELISTED_HEADERS, *(h.strip() for h in allow_headers if h != "*")}):
        chosen.setdefault(name.lower(), name)
    return ", ".join(sorted(chosen.values()))


class CORSMiddleware(Wraps):
    """Answer CORS preflight requests and add CORS headers to other responses.

    A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
    is answered here: 200 when the origin, method, headers (and private-network
    access) are allowed, else 400 saying what was refused. Every preflight answer
    varies on the four request headers it reads (:data:`PREFLIGHT_VARY`). Other
    requests reach the app; when their origin is allowed the response gets the CORS
    headers, and every one of them gets ``Origin`` appended to its ``Vary``.

    ``"*"`` in ``allow_origins``, ``allow_methods`` or ``allow_headers`` allows any
    (methods: :data:`ALL_METHODS` are listed; headers: the requested ones are
    mirrored as sent). With ``allow_credentials`` the origin wildcard is never sent
    (browsers reject it): the request's origin is echoed instead, which hands every
    web site the user's credentialed responses, so that combination logs a warning
    (:data:`WILDCARD_CREDENTIALS_WARNING`) when the middleware is built.
    ``allow_origin_regex`` must match the whole origin.

    Subclasses may override :meth:`preflight_response`, :meth:`simple_response`,
    :meth:`send` and :meth:`allow_explicit_origin` (Starlette's hooks); what a class
    does not override runs as a faster equivalent.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.allow_all_origins = "*" in allow_origins
        self.allow_origins = frozenset(origin for origin in allow_origins if origin != "*")
        self.allow_origin_regex = (
            re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        )
        self.allow_all_methods = "*" in allow_methods
        methods = ALL_METHODS if self.allow_all_methods else allow_methods
        self.allow_methods = tuple(dict.fromkeys(m.upper() for m in methods))
        self.allow_all_headers = "*" in allow_headers
        self.allow_headers = frozenset(
            h.strip().lower() for h in (*allow_headers, *SAFELISTED_HEADERS) if h != "*"
        )
        self.allow_credentials = allow_credentials
        if allow_credentials and self.allow_all_origins:
            _LOG.warning(WILDCARD_CREDENTIALS_WARNING)
        self.allow_private_network = allow_private_network
        self.max_age = max_age
        # "*" goes out only when every origin is allowed and no credentials are.
        self.preflight_explicit_allow_origin = not self.allow_all_origins or allow_credentials
        simple: RawHeaders = []
        if allow_credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        if expose_headers:
            simple.append(
                (b"access-control-expose-headers", ", ".join(expose_headers).encode("latin-1"))
            )
        self._simple_headers = simple
        self.simple_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in simple}
        if not self.preflight_explicit_allow_origin:
            self.simple_headers["access-control-allow-origin"] = "*"
        preflight = {
            "vary": PREFLIGHT_VARY,
            "access-control-allow-methods": ", ".join(self.allow_methods),
            "access-control-max-age": str(max_age),
        }
        if not self.allow_all_headers:
            preflight["access-control-allow-headers"] = _allowed_headers_value(allow_headers)
        if allow_credentials:
            preflight["access-control-allow-credentials"] = "true"
        self.preflight_headers = preflight
        cls = type(self)
        self._fast_preflight = cls.preflight_response is CORSMiddleware.preflight_response
        self._fast = (
            cls.simple_response is CORSMiddleware.simple_response
            and cls.send is CORSMiddleware.send
            and cls.allow_explicit_origin is CORSMiddleware.allow_explicit_origin
        )

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` may read responses."""
        if self.allow_all_origins or origin in self.allow_origins:
            return True
        regex = self.allow_origin_regex
        return regex is not None and regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._call(scope, receive, send)
            return
        headers = scope["headers"]
        origin = None
        for key, value in headers:  # find_header(headers, b"origin"), inlined
            if key == b"origin":
                origin = value
                break
        if origin is None:  # not a CORS request: the response only varies on Origin
            if self._fast:
                # _vary_only(send), built here with add_vary() called only when a
                # header could be a Vary: two calls less per request.
                def send_with_vary(message: Message) -> Awaitable[None]:
                    if message["type"] == "http.response.start":
                        response_headers = list(message.get("headers", ()))
                        for key, _ in response_headers:
                            if len(key) == 4:  # a Vary header, perhaps: add_vary() merges
                                add_vary(response_headers, b"Origin")
                                break
                        else:
                            response_headers.append(_VARY_ORIGIN)
                        message["headers"] = response_headers
                    return send(message)

                await self._call(scope, receive, send_with_vary)
            else:
                await self.simple_response(scope, receive, send, Headers(scope=scope))
            return
        method = (
            find_header(headers, b"access-control-request-method")
            if scope["method"] == "OPTIONS"
            else None
        )
        if method is not None:  # a preflight (a plain OPTIONS request reaches the app)
            if self._fast_preflight:
                await self._send_preflight(scope, origin, method, send)
            else:
                response = self.preflight_response(Headers(scope=scope))
                await response(scope, receive, send)
            return
        if not self._fast:
            await self.simple_response(scope, receive, send, Headers(scope=scope))
        elif not self.is_allowed_origin(origin.decode("latin-1")):
            await self._call(scope, receive, self._vary_only(send))
        else:
            allow_origin = (
                b"access-control-allow-origin",
                origin if self.preflight_explicit_allow_origin else b"*",
            )
            extra = self._simple_headers

            # What simple_response() and send() do for an allowed origin, as a plain
            # function handing on send's own awaitable (no coroutine per message).
            def send_with_cors(message: Message) -> Awaitable[None]:
                if message["type"] == "http.response.start":
                    # Never changed in place: the result is a new list.
                    response_headers = message.get("headers", ())
                    if type(response_headers) is not list:
                        response_headers = list(response_headers)
                    for key, _ in response_headers:
                        if len(key) in _MERGED_NAME_LENGTHS:
                            # The app's own CORS headers give way to ours (lower() only
                            # the names of the right lengths); its Vary gets Origin.
                            response_headers = [
                                h
                                for h in response_headers
                                if len(h[0]) not in _CORS_NAME_LENGTHS
                                or h[0].lower() not in _CORS_RESPONSE_HEADERS
                            ]
                            response_headers.append(allow_origin)
                            response_headers += extra
                            add_vary(response_headers, b"Origin")
                            break
                    else:  # nothing to replace or merge: one new list
                        response_headers = [
                            *response_headers,
                            allow_origin,
                            *extra,
                            _VARY_ORIGIN,
                        ]
                    message["headers"] = response_headers
                return send(message)

            await self._call(scope, receive, send_with_cors)

    def preflight_response(self, request_headers: Headers) -> Response:
        """The answer to a preflight request: 200, or 400 naming what was refused."""
        status, text, headers = self._preflight(
            request_headers["origin"],
            request_headers["access-control-request-method"],
            request_headers.getlist("access-control-request-headers"),
            request_headers.get("access-control-request-private-network"),
        )
        return PlainTextResponse(text, status_code=status, headers=headers)

    def _preflight(
        self, origin: str, method: str, requested: list[str], private_network: str | None
    ) -> tuple[int, str, dict[str, str]]:
        headers = dict(self.preflight_headers)
        refused: list[str] = []
        if not self.is_allowed_origin(origin):
            refused.append("origin")
        elif self.preflight_explicit_allow_origin:
            headers["access-control-allow-origin"] = origin
        else:
            headers["access-control-allow-origin"] = "*"
        if method.upper() not in self.allow_methods:
            if self.allow_all_methods:  # "*" allows methods ALL_METHODS does not name too
                headers["access-control-allow-methods"] += ", " + method
            else:
                refused.append("method")
        if self.allow_all_headers:
            if requested:
                headers["access-control-allow-headers"] = ", ".join(requested)
        elif any(
            name.strip().lower() not in self.allow_headers
            for name in ",".join(requested).split(",")
            if name.strip()
        ):
            refused.append("headers")
        if private_network is not None and private_network.strip().lower() == "true":
            if self.allow_private_network:
                headers["access-control-allow-private-network"] = "true"
            else:
                refused.append("private-network")
        if refused:
            return 400, "Disallowed CORS " + ", ".join(refused), headers
        return 200, "OK", headers

    async def _send_preflight(self, scope: Scope, origin: bytes, method: bytes, send: Send) -> None:
        """:meth:`preflight_response`, sent without building a Response object."""
        private_network: str | None = None
        requested: list[str] = []
        for key, value in scope["headers"]:
            if key == b"access-control-request-headers":
                requested.append(value.decode("latin-1"))
            elif key == b"access-control-request-private-network":
                private_network = private_network or value.decode("latin-1")  # the first
        status, text, headers = self._preflight(
            origin.decode("latin-1"), method.decode("latin-1"), requested, private_network
        )
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send_plain(send, status, text, raw)

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        """Run the app for a request that is not a preflight, through :meth:`send`."""

        async def send_with_cors(message: Message) -> None:
            await self.send(message, send, request_headers)

        await self._call(scope, receive, send_with_cors)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        """Add the CORS headers for ``request_headers`` to a response start, then send."""
        if message["type"] != "http.response.start":
            await send(message)
            return
        headers = MutableHeaders(scope=message)
        origin = request_headers.get("origin")
        if origin is not None and self.is_allowed_origin(origin):
            for name in ("access-control-allow-credentials", "access-control-expose-headers"):
                del headers[name]
            headers.update(self.simple_headers)
            if self.preflight_explicit_allow_origin:
                self.allow_explicit_origin(headers, origin)
                await send(message)
                return
        headers.add_vary_header("Origin")
        await send(message)

    @staticmethod
    def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
        """Allow exactly ``origin`` (not ``*``): the answer now depends on ``Origin``."""
        headers["access-control-allow-origin"] = origin
        headers.add_vary_header("Origin")

    # The send wrappers of __call__ and this one are what simple_response() and send()
    # do, as plain functions handing on send's own awaitable: no coroutine per message.

    def _vary_only(self, send: Send) -> Send:
        def send_with_vary(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                add_vary(headers, b"Origin")
                message["headers"] = headers
            return send(message)

        return send_with_vary

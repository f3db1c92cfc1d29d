"""Signed-cookie sessions: ``scope["session"]`` is a dict kept in a cookie.

Needs itsdangerous: ``pip install 'asgi-middleware[sessions]'``. The cookie holds
base64 JSON signed with a timestamp (the same format as Starlette's, so sessions
survive a migration when the secret key is kept).
"""

from __future__ import annotations

import importlib
import json
import re
from base64 import b64decode, b64encode
from typing import TYPE_CHECKING, Any, Literal

from asgi_core.datastructures import Secret
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from itsdangerous import TimestampSigner

__all__ = ["SessionMiddleware"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PATH = re.compile(r"/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*")  # no controls, spaces, ',' or ';'
_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_SAME_SITE = ("lax", "strict", "none")


def _itsdangerous() -> Any:
    try:
        return importlib.import_module("itsdangerous")
    except ImportError:
        raise ImportError(
            "SessionMiddleware needs itsdangerous: pip install 'asgi-middleware[sessions]'"
        ) from None


def _cookie(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of cookie ``name`` in the request's Cookie headers, if any."""
    for key, value in headers:
        if key != b"cookie":
            continue
        for pair in value.split(b";"):
            cookie_name, sep, cookie_value = pair.partition(b"=")
            if sep and cookie_name.strip() == name:
                cookie_value = cookie_value.strip()
                if len(cookie_value) > 1 and cookie_value[:1] == cookie_value[-1:] == b'"':
                    cookie_value = cookie_value[1:-1]
                return cookie_value
    return None


class SessionMiddleware:
    """Load ``scope["session"]`` from a signed cookie and store it back when changed.

    A tampered, expired, undecodable or foreign cookie gives an empty session (never
    an error). The cookie is sent only when the session changed, or cleared when a
    session was loaded and is now empty; so a session expires ``max_age`` seconds
    after its last change (``None``: when the browser closes). WebSocket connections
    get the session too, read-only. ``path`` and ``domain`` are checked at startup so
    they cannot inject cookie attributes.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | bytes | Secret,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
    ) -> None:
        itsdangerous = _itsdangerous()
        key = secret_key if isinstance(secret_key, bytes) else str(secret_key)
        if not key:
            raise ValueError("SessionMiddleware needs a non-empty secret_key")
        if not _TOKEN.fullmatch(session_cookie):
            raise ValueError(f"Invalid session cookie name {session_cookie!r}")
        if not _PATH.fullmatch(path):
            raise ValueError(f"Invalid cookie path {path!r}: it must start with '/'")
        if domain is not None and not _DOMAIN.fullmatch(domain):
            raise ValueError(f"Invalid cookie domain {domain!r}")
        if str(same_site).lower() not in _SAME_SITE:
            raise ValueError(f"Invalid same_site {same_site!r}: use 'lax', 'strict' or 'none'")
        if max_age is not None and max_age <= 0:
            raise ValueError("max_age must be a positive number of seconds, or None")
        self.app = app
        self.signer: TimestampSigner = itsdangerous.TimestampSigner(key)
        self._bad_data: type[Exception] = itsdangerous.BadData
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + str(same_site).lower()
        if https_only:
            self.security_flags += "; secure"
        if domain is not None:
            self.security_flags += f"; domain={domain}"
        self._name = session_cookie.encode("latin-1")
        max_age_attr = f"Max-Age={max_age}; " if max_age is not None else ""
        self._set_suffix = f"; path={path}; {max_age_attr}{self.security_flags}"
        self._clear_cookie = (
            f"{session_cookie}=null; path={path}; "
            f"expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; {self.security_flags}"
        ).encode("latin-1")

    def _load(self, raw: bytes) -> tuple[dict[str, Any], bytes]:
        """Decode a cookie value into (session, the JSON it came from)."""
        try:
            payload = b64decode(self.signer.unsign(raw, max_age=self.max_age), validate=True)
            session = json.loads(payload)
        except (self._bad_data, ValueError, RecursionError):
            return {}, b""
        if not isinstance(session, dict):
            return {}, b""
        return session, payload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = _cookie(scope["headers"], self._name)
        session, original = self._load(raw) if raw else ({}, b"")
        scope["session"] = session
        if kind == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = self._header(scope.get("session"), original)
                if header is not None:
                    headers = list(message.get("headers", ()))
                    headers.append((b"set-cookie", header))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _header(self, session: Any, original: bytes) -> bytes | None:
        """The Set-Cookie value this response needs, or ``None``."""
        if not session:
            return self._clear_cookie if original else None
        payload = json.dumps(session).encode("utf-8")
        if payload == original:
            return None
        data = self.signer.sign(b64encode(payload)).decode("ascii")
        return f"{self.session_cookie}={data}{self._set_suffix}".encode("latin-1")

"""Signed-cookie sessions: ``scope["session"]`` is a dict kept in a cookie.

Needs itsdangerous: ``pip install "asgi-middleware[sessions]"``. The cookie holds
base64 JSON signed with a timestamp (the same format as Starlette's, so sessions
survive a migration when the secret key is kept). Without itsdangerous, importing this
module raises ``ImportError`` naming the extra: an application that uses sessions fails
where it imports them, before it serves anything, never on its first request.
"""

from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode
from collections.abc import Awaitable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any, Literal

try:
    import itsdangerous
except ImportError:  # the extra is not installed
    raise ImportError(
        'SessionMiddleware needs itsdangerous: pip install "asgi-middleware[sessions]"'
    ) from None

from asgi_core.datastructures import Secret
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._headers import add_vary

__all__ = ["Session", "SessionMiddleware"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PATH = re.compile(r"/[\x21-\x2b\x2d-\x3a\x3c-\x7e]*")  # no controls, spaces, ',' or ';'
_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_SAME_SITE = ("lax", "strict", "none")


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


class Session(dict[str, Any]):
    """The session dict: it records whether it was read (``accessed``) or changed
    (``modified``), so the middleware knows which responses depend on the cookie and
    when to sign a new one.

    Every write method marks it modified; every read method marks it accessed, as
    does ``request.session`` in frameworks that call :meth:`mark_accessed`. A change
    inside a nested value (``session["cart"].append(...)``) is not a call on the
    session: the middleware still notices it (see :class:`SessionMiddleware`), or
    call :meth:`mark_modified`.
    """

    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        """The response now depends on the session (it gets ``Vary: Cookie``)."""
        self.accessed = True

    def mark_modified(self) -> None:
        """The session must be stored again (a new signed cookie is sent)."""
        self.accessed = True
        self.modified = True

    # reads
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self.accessed = True
        return super().keys()

    def values(self) -> ValuesView[Any]:  # type: ignore[override]
        self.accessed = True
        return super().values()

    def items(self) -> ItemsView[str, Any]:  # type: ignore[override]
        self.accessed = True
        return super().items()

    def copy(self) -> dict[str, Any]:
        self.accessed = True
        return dict(super().items())

    def __reversed__(self) -> Iterator[str]:
        self.accessed = True
        return super().__reversed__()

    def __eq__(self, other: object) -> bool:
        self.accessed = True
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self.accessed = True
        return super().__ne__(other)

    __hash__ = None

    def __or__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        self.accessed = True
        return dict(super().items()) | other  # type: ignore[no-any-return]

    def __ror__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        self.accessed = True
        return other | dict(super().items())  # type: ignore[no-any-return]

    # writes
    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *args: Any) -> Any:
        if super().__contains__(key):
            self.mark_modified()
        else:
            self.accessed = True
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()  # KeyError on an empty session: nothing changed
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if super().__contains__(key):
            self.accessed = True
        else:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> Session:  # type: ignore[override]
        self.mark_modified()
        super().update(other)
        return self


def _has_containers(session: dict[str, Any]) -> bool:
    """Whether a value could have changed without a call on the session itself."""
    return any(type(value) in (list, dict) for value in dict.values(session))


class SessionMiddleware(Wraps):
    """Load ``scope["session"]`` (a :class:`Session`) from a signed cookie and store
    it back when it was modified.

    A tampered, expired, undecodable or foreign cookie gives an empty session (never
    an error). Every response whose session was accessed gets ``Vary: Cookie``, so a
    shared cache never hands one user's session to another. A new signed cookie is
    sent only when the session was modified (a write method or
    :meth:`Session.mark_modified`; a change inside a nested list or dict is noticed
    too), and the cookie is cleared when a loaded session was emptied; so a session
    expires ``max_age`` seconds after its last change (``None``: when the browser
    closes). ``partitioned=True`` adds the ``Partitioned`` attribute (CHIPS; browsers
    also need ``https_only=True``). WebSocket connections get the session too,
    read-only. ``path`` and ``domain`` are checked at startup so they cannot inject
    cookie attributes.
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
        partitioned: bool = False,
    ) -> None:
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
        self.signer = itsdangerous.TimestampSigner(key)
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + str(same_site).lower()
        if https_only:
            self.security_flags += "; secure"
        if domain is not None:
            self.security_flags += f"; domain={domain}"
        if partitioned:
            self.security_flags += "; partitioned"
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
        except (itsdangerous.BadData, ValueError, RecursionError):
            return {}, b""
        if not isinstance(session, dict):
            return {}, b""
        return session, payload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self._call(scope, receive, send)
            return
        headers = scope["headers"]
        for key, _ in headers:  # most requests without a session have no cookie at all
            if key == b"cookie":
                raw = _cookie(headers, self._name)
                break
        else:
            raw = None
        if raw:
            loaded, original = self._load(raw)
            scope["session"] = Session(loaded)
        else:
            original = b""
            scope["session"] = Session()
        if kind == "websocket":
            await self._call(scope, receive, send)
            return

        # The send given to the app: adds ``Vary: Cookie`` and the ``Set-Cookie`` the
        # session needs to the response start. A plain function handing on send's own
        # awaitable (no coroutine per message), built here (no call to build it).
        def send_with_session(message: Message) -> Awaitable[None]:
            if message["type"] != "http.response.start":
                return send(message)
            session = scope.get("session")
            if isinstance(session, Session):
                if not session.accessed:  # neither read nor changed: nothing to store
                    return send(message)
                header = self._header(session, original, session.modified)
            else:  # the app put another mapping there: it used the session
                header = self._header(session, original, False)
            response_headers = list(message.get("headers", ()))
            add_vary(response_headers, b"Cookie")
            if header is not None:
                response_headers.append((b"set-cookie", header))
            message["headers"] = response_headers
            return send(message)

        await self._call(scope, receive, send_with_session)

    def _header(self, session: Any, original: bytes, modified: bool) -> bytes | None:
        """The Set-Cookie value this response, whose session was read, needs, or ``None``.

        A modified session is always signed again (``mark_modified()`` refreshes the
        cookie); one that was only read is compared with the cookie's JSON when a
        nested value could have changed behind its back.
        """
        if not modified and isinstance(session, Session) and not _has_containers(session):
            return None  # every change would have gone through a write method
        if not session:
            return self._clear_cookie if original else None
        payload = json.dumps(session).encode("utf-8")
        if not modified and payload == original:
            return None
        data = self.signer.sign(b64encode(payload)).decode("ascii")
        return f"{self.session_cookie}={data}{self._set_suffix}".encode("latin-1")

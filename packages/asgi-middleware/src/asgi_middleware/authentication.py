"""Authentication: a backend identifies the user, endpoints require scopes.

:class:`AuthenticationMiddleware` asks your :class:`AuthenticationBackend` who the
client is, for every HTTP request and WebSocket connection, and stores the answer in
``scope["auth"]`` (an :class:`AuthCredentials`) and ``scope["user"]`` (a
:class:`BaseUser`), read as ``request.auth`` and ``request.user``. The
:func:`requires` decorator then guards endpoints by the scopes the credentials hold.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlencode

from asgi_core.concurrency import is_async_callable
from asgi_core.exceptions import HTTPException
from asgi_core.requests import HTTPConnection, Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_middleware._chain import Wraps
from asgi_middleware._handlers import call_handler
from asgi_responses import PlainTextResponse, RedirectResponse, Response

__all__ = [
    "AuthCredentials",
    "AuthenticationBackend",
    "AuthenticationError",
    "AuthenticationMiddleware",
    "BaseUser",
    "SimpleUser",
    "UnauthenticatedUser",
    "has_required_scope",
    "requires",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_WS_POLICY_VIOLATION = 1008


class AuthenticationError(Exception):
    """Raised by a backend when the client's credentials are invalid (not missing)."""


class AuthCredentials:
    """The scopes (permissions) the client was granted, e.g. ``["authenticated"]``."""

    def __init__(self, scopes: Sequence[str] | None = None) -> None:
        self.scopes = [] if scopes is None else list(scopes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scopes!r})"


class BaseUser:
    """The interface of ``request.user``; subclass it for your user model."""

    @property
    def is_authenticated(self) -> bool:
        raise NotImplementedError()

    @property
    def display_name(self) -> str:
        raise NotImplementedError()

    @property
    def identity(self) -> str:
        raise NotImplementedError()


class SimpleUser(BaseUser):
    """An authenticated user known by name only."""

    def __init__(self, username: str) -> None:
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def identity(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.username!r})"


class UnauthenticatedUser(BaseUser):
    """``request.user`` when the backend identified nobody."""

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AuthenticationBackend:
    """Subclass and implement :meth:`authenticate`."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Return ``(credentials, user)``, ``None`` for an anonymous client, or raise
        :class:`AuthenticationError` for invalid credentials."""
        raise NotImplementedError()


OnError = Callable[[HTTPConnection, AuthenticationError], "Response | Awaitable[Response]"]


class AuthenticationMiddleware(Wraps):
    """Set ``scope["auth"]`` and ``scope["user"]`` from ``backend.authenticate(conn)``.

    When the backend raises :class:`AuthenticationError`, an HTTP request gets
    ``on_error(conn, exc)``'s response (sync or async; by default a 400 with the
    error's message as plain text) and a WebSocket is closed with code 1008 (policy
    violation) before it is accepted, so the handshake is refused.
    """

    def __init__(
        self, app: ASGIApp, backend: AuthenticationBackend, on_error: OnError | None = None
    ) -> None:
        self.app = app
        self.backend = backend
        self.on_error: OnError = self.default_on_error if on_error is None else on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._call(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        try:
            result = await self.backend.authenticate(conn)
        except AuthenticationError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION, "reason": ""})
            else:
                response = await call_handler(self.on_error, conn, exc)
                await response(scope, receive, send)
            return
        if result is None:
            result = AuthCredentials(), UnauthenticatedUser()
        scope["auth"], scope["user"] = result
        await self._call(scope, receive, send)

    @staticmethod
    def default_on_error(conn: HTTPConnection, exc: Exception) -> Response:
        """A 400 response with the error's message."""
        return PlainTextResponse(str(exc), status_code=400)


def has_required_scope(conn: HTTPConnection, scopes: Sequence[str]) -> bool:
    """Whether the connection's credentials hold every one of ``scopes``."""
    granted = conn.auth.scopes
    return all(scope in granted for scope in scopes)


def requires(
    scopes: str | Sequence[str],
    status_code: int = 403,
    redirect: str | None = None,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Guard an endpoint: its connection's credentials must hold all of ``scopes``.

    Works on sync and async HTTP endpoints and ``HTTPEndpoint`` methods (with a
    parameter named ``request``, passed positionally or by keyword) and on WebSocket
    endpoints (a parameter named ``websocket``). A request without the scopes gets
    ``HTTPException(status_code)``, or with ``redirect`` a 303 redirect to
    ``request.url_for(redirect)`` with ``?next=<the current URL>``; a WebSocket is
    closed with code 1008 (policy violation).
    """
    required = [scopes] if isinstance(scopes, str) else list(scopes)

    def decorator(func: Callable[_P, _R]) -> Callable[_P, _R]:
        names = list(inspect.signature(func).parameters)
        kind = next((name for name in names if name in ("request", "websocket")), None)
        if kind is None:
            raise TypeError(
                f"@requires() needs the endpoint {func.__qualname__}() to take a parameter "
                'named "request" or "websocket".'
            )

        index = names.index(kind)

        def connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
            conn = kwargs[kind] if kind in kwargs else args[index]
            return cast(HTTPConnection, conn)

        if kind == "websocket":

            @functools.wraps(func)
            async def websocket_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                websocket = cast(WebSocket, connection(args, kwargs))
                if not has_required_scope(websocket, required):
                    await websocket.close(code=_WS_POLICY_VIOLATION)
                    return None
                return await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)

            return cast(Callable[_P, _R], websocket_wrapper)

        if is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                request = cast(Request, connection(args, kwargs))
                if not has_required_scope(request, required):
                    return _deny(request, status_code, redirect)
                return await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)

            return cast(Callable[_P, _R], async_wrapper)

        @functools.wraps(func)
        def sync_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            request = cast(Request, connection(args, kwargs))
            if not has_required_scope(request, required):
                return _deny(request, status_code, redirect)
            return func(*args, **kwargs)

        return cast(Callable[_P, _R], sync_wrapper)

    return decorator


def _deny(request: Request, status_code: int, redirect: str | None) -> Response:
    if redirect is None:
        raise HTTPException(status_code=status_code)
    target = str(request.url_for(redirect))
    separator = "&" if "?" in target else "?"
    next_url = f"{target}{separator}{urlencode({'next': str(request.url)})}"
    return RedirectResponse(url=next_url, status_code=303)

"""Cap the size of request bodies, around any ASGI app."""

from __future__ import annotations

import dataclasses

from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, get_limits
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._utils import find_header, send_plain

__all__ = ["RequestBodyLimitMiddleware"]


class _BodyTooLarge(HTTPException):
    """The 413 this middleware raises from ``receive`` (told apart from the app's)."""


class RequestBodyLimitMiddleware:
    """Refuse request bodies over ``max_body_size`` bytes with 413.

    Sets ``max_body_size`` in the scope's :class:`asgi_core.limits.RequestLimits`
    (``scope["asgi_app.limits"]``), so code deeper in (a route with its own
    ``max_body_size``) may replace it: the limit checked is the one in the scope when
    the app reads. The first ``receive()`` compares ``Content-Length`` with it before
    any byte is read; every chunk is counted too, so chunked or understated bodies stop
    at the limit. Going over raises ``HTTPException(413)`` out of ``receive()``; the
    413 response is sent at once when the response has not started, whatever the app
    then does with the exception. ``None`` lifts the cap.
    """

    def __init__(self, app: ASGIApp, max_body_size: int | None = 1_048_576) -> None:
        if max_body_size is not None and max_body_size < 0:
            raise ValueError("max_body_size must be >= 0, or None for no limit")
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=self.max_body_size)
        await _Guard(scope, receive, send).run(self.app)


class _Guard:
    """One request: counts body bytes and owns the 413."""

    __slots__ = ("_receive", "_received", "_scope", "_send", "_started", "_tripped")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._received: int | None = None  # None until the first receive()
        self._started = False
        # The limit that was exceeded, never the exception itself: an exception kept
        # here holds its traceback, whose frames hold this guard and the request's
        # buffers, in a cycle only the full garbage collector frees.
        self._tripped: int | None = None

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self._scope, self.receive, self.send)
        except Exception as exc:
            if self._tripped is None:
                raise
            # The app let our 413 (or what it turned it into) escape: already answered.
            del exc

    async def _trip(self, limit: int) -> None:
        self._tripped = limit
        if not self._started:
            self._started = True
            await send_plain(self._send, 413, _detail(limit), [(b"connection", b"close")])
        # raised unnamed: a local holding it would sit in its own traceback's frame
        raise _too_large(limit)

    async def receive(self) -> Message:
        if self._tripped is not None:
            raise _too_large(self._tripped)
        limit = get_limits(self._scope).max_body_size
        if self._received is None:
            self._received = 0
            declared = find_header(self._scope["headers"], b"content-length")
            if limit is not None and declared is not None and _over(declared, limit):
                await self._trip(limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if limit is not None and self._received > limit:
                await self._trip(limit)
        return message

    async def send(self, message: Message) -> None:
        if self._tripped is not None:
            return  # the 413 went out already; the app's reaction is dropped
        if message["type"] == "http.response.start":
            self._started = True
        await self._send(message)


def _detail(limit: int) -> str:
    return f"Request body exceeds the limit of {limit} bytes"


def _too_large(limit: int) -> _BodyTooLarge:
    return _BodyTooLarge(413, _detail(limit))


def _over(declared: bytes, limit: int) -> bool:
    """Whether a ``Content-Length`` value is over ``limit`` (junk is not: counting
    the bytes still enforces the limit)."""
    if not declared.isdigit():
        return False
    digits = declared.lstrip(b"0")
    return len(digits) > 18 or int(digits or b"0") > limit

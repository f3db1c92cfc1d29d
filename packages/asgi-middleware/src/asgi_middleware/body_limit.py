"""Cap the size of request bodies, around any ASGI app.

The limit a request is held to lives in the scope under
:data:`MAX_BODY_SIZE_SCOPE_KEY` (``"starlette.max_body_size"``), the key and contract
Starlette 1.10 defines, so this middleware and a Starlette router (or Starlette's
middleware and this project's router) honour each other's limits:

- whoever narrows the limit for the code it calls (a middleware, a route) sets the key
  to an ``int`` number of bytes before calling it, and restores the previous value
  (or removes the key, when there was none) once the call returns or raises;
- whoever reads the body enforces the value in the scope *when it reads*, so the
  innermost setter wins.

The scope's :class:`asgi_core.limits.RequestLimits` (``scope["asgi_app.limits"]``)
gets the same ``max_body_size``, for the code that reads limits from there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from asgi_core.datastructures import find_header
from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, MAX_BODY_SIZE_SCOPE_KEY, get_limits
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._headers import content_length
from asgi_middleware._responses import send_plain

__all__ = ["MAX_BODY_SIZE_SCOPE_KEY", "RequestBodyLimitMiddleware", "RequestBodyLimitResponder"]

_TOO_LARGE = "Content Too Large"
_MISSING = object()


class _BodyTooLarge(HTTPException):
    """The 413 this middleware raises from ``receive`` (told apart from the app's)."""


class RequestBodyLimitMiddleware(Wraps):
    """Refuse request bodies over ``max_body_size`` bytes with 413 Content Too Large.

    Publishes the limit under :data:`MAX_BODY_SIZE_SCOPE_KEY` (and in the scope's
    ``RequestLimits``) for the duration of the call, so code deeper in (a route with
    its own ``max_body_size``) may replace it: the limit checked is the one in the
    scope when the app reads. The first ``receive()`` compares ``Content-Length`` with
    it before any byte is read; every chunk is counted too, so chunked or understated
    bodies stop at the limit. Going over raises ``HTTPException(413)`` out of
    ``receive()``, as Starlette does, so the app answers it the way it answers any
    ``HTTPException``: its exception handlers run (a handler for 413 included) and the
    response goes out through the middleware between the app and this one (CORS
    headers, compression). That answer, a 413, gets ``Connection: close`` (the rest of
    the body is never read). Whatever else the app does, the client gets a 413: a
    response with another status (a success, or the 500 or 400 of a framework that
    does not know this exception) is replaced by this middleware's own 413, which is
    also sent when the exception escapes or the app returns without answering. Past a
    response that has started, the exception is raised out of this middleware (the
    server ends the response). ``None`` lifts the cap.
    """

    def __init__(self, app: ASGIApp, max_body_size: int | None) -> None:
        if max_body_size is not None and max_body_size < 0:
            raise ValueError("max_body_size must be >= 0, or None for no limit")
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._call(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, self.max_body_size)(scope, receive, send)


class RequestBodyLimitResponder:
    """One request under a body limit: counts its bytes and owns its 413.

    ``receive_with_limit`` and ``send_with_limit`` are the ``receive`` and ``send``
    the app gets.
    """

    __slots__ = (
        "_answered",
        "_read_declared",
        "_receive",
        "_refused",
        "_scope",
        "_send",
        "_tripped",
        "app",
        "content_length",
        "max_body_size",
        "response_started",
        "total_size",
    )

    def __init__(self, app: ASGIApp, max_body_size: int | None) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self._scope: Scope | None = None
        self._receive: Receive | None = None
        self._send: Send | None = None
        self.content_length: int | None = None  # the declared length, once read
        self.total_size = 0
        self.response_started = False
        # The limit that was exceeded, never the exception itself: an exception kept
        # here holds its traceback, whose frames hold this responder and the request's
        # buffers, in a cycle only the full garbage collector frees.
        self._tripped: int | None = None
        self._answered = False  # this responder sent its own 413 response
        self._refused = False  # a 413 went out after the limit was passed (ours or the app's)
        self._read_declared = False

    @property
    def scope(self) -> Scope:
        """The scope of the request, once called."""
        assert self._scope is not None, "call the responder first"
        return self._scope

    @property
    def receive(self) -> Receive:
        """The server's ``receive``, once called."""
        assert self._receive is not None, "call the responder first"
        return self._receive

    @property
    def send(self) -> Send:
        """The server's ``send``, once called."""
        assert self._send is not None, "call the responder first"
        return self._send

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope, self._receive, self._send = scope, receive, send
        limit = self.max_body_size
        previous = scope.get(MAX_BODY_SIZE_SCOPE_KEY, _MISSING)
        previous_limits = scope.get(LIMITS_KEY, _MISSING)
        if limit is None:
            scope.pop(MAX_BODY_SIZE_SCOPE_KEY, None)
        else:
            scope[MAX_BODY_SIZE_SCOPE_KEY] = limit
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=limit)
        try:
            await self.app(scope, self.receive_with_limit, self.send_with_limit)
        except Exception as exc:
            if self._tripped is None:
                raise  # not ours
            if not self.response_started:
                await self._answer()  # the app let the refusal escape unanswered
            elif not self._refused:
                raise  # ours, too late for a 413: the server ends the response
            if not _raised_for_limit(exc):
                raise  # an error of the app's own, after the 413: for the server's log
        else:
            if self._tripped is not None and not self.response_started:
                await self._answer()  # the app swallowed the 413 and sent nothing
        finally:
            _restore(scope, MAX_BODY_SIZE_SCOPE_KEY, previous)
            _restore(scope, LIMITS_KEY, previous_limits)

    def _limit(self) -> int | None:
        """The limit in the scope now (a route deeper in may have replaced ours)."""
        scope = self.scope
        value = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        if value != self.max_body_size:
            return value if isinstance(value, int) else None
        return get_limits(scope).max_body_size

    def _trip(self, limit: int) -> HTTPException:
        self._tripped = limit
        return _refusal()

    async def _answer(self) -> None:
        """Send this responder's own 413 (the app did not answer the refusal)."""
        self.response_started = self._answered = self._refused = True
        await send_plain(self.send, 413, _TOO_LARGE, [(b"connection", b"close")])

    async def receive_with_limit(self) -> Message:
        """The server's next message, or ``HTTPException(413)`` past the limit."""
        if self._tripped is not None:
            raise _refusal()
        limit = self._limit()
        if not self._read_declared:
            self._read_declared = True
            declared = find_header(self.scope["headers"], b"content-length")
            # junk is none: counting the bytes still enforces the limit
            self.content_length = content_length(declared)
        # raised unnamed: a local holding it would sit in its own traceback's frame
        if limit is not None and self.content_length is not None and self.content_length > limit:
            raise self._trip(limit)
        message = await self.receive()
        if message["type"] == "http.request":
            self.total_size += len(message.get("body", b""))
            if limit is not None and self.total_size > limit:
                raise self._trip(limit)
        return message

    async def send_with_limit(self, message: Message) -> None:
        """The server's ``send``. Once the body was refused, a 413 the app sends (its
        handler's answer) goes out with ``Connection: close``; any other status (a
        success, or the 500 or 400 of a framework that does not know this 413) is
        replaced by this responder's 413, and nothing more of the app's is sent."""
        if self._answered:
            return  # our 413 went out already; the app's reaction is dropped
        if message["type"] == "http.response.start":
            if self._tripped is not None and not self.response_started:
                if message["status"] != 413:
                    await self._answer()
                    return
                self._refused = True
                message["headers"] = _closing(message.get("headers", ()))
            self.response_started = True
        await self.send(message)


def _refusal() -> HTTPException:
    """The 413 raised out of ``receive()`` (a new one each time: see ``_tripped``)."""
    return _BodyTooLarge(413, _TOO_LARGE, {"Connection": "close"})


def _raised_for_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is this middleware's 413, or was raised from it (``raise ...
    from``, ``from None`` included: an app turning it into its own error), or groups
    it (a task group). An error merely raised while the 413 was being handled (its
    implicit context) is the app's own: a bug in its handling, for the server's log."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _BodyTooLarge):
            return True
        grouped = getattr(current, "exceptions", None)
        if isinstance(grouped, tuple):
            pending += [item for item in grouped if isinstance(item, BaseException)]
        linked = current.__cause__
        if linked is None and current.__suppress_context__:
            linked = current.__context__  # raise ... from None
        if linked is not None:
            pending.append(linked)
    return False


def _closing(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` (a new list) with ``Connection: close`` in place of any other."""
    kept = [(key, value) for key, value in headers if key.lower() != b"connection"]
    kept.append((b"connection", b"close"))
    return kept


def _restore(scope: Scope, key: str, previous: object) -> None:
    if previous is _MISSING:
        scope.pop(key, None)
    else:
        scope[key] = previous

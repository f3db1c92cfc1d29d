"""Turn exceptions raised by the app into responses, with handlers you register.

:class:`ExceptionMiddleware` looks a handler up by the status code of an
``HTTPException`` first, then by the exception's class along its MRO (so a handler
for ``Exception`` catches everything not handled more precisely). Out of the box it
handles ``HTTPException`` (a plain-text response with the exception's status, detail
and headers; on a WebSocket not accepted yet, the same response as a denial response)
and ``WebSocketException`` (closes the WebSocket with its code and reason). Unhandled
exceptions propagate, to ``ServerErrorMiddleware`` for instance.

The handlers are also published in the scope under :data:`EXCEPTION_HANDLERS_SCOPE_KEY`
(``"starlette.exception_handlers"``), with Starlette 1.10's contract: a pair
``(handlers by exception class, handlers by status code)``. A router that honours the
key (this project's ``request_response`` and ``websocket_session``, or Starlette's)
applies them where the endpoint runs, so middleware around a route or a mount sees the
handler's response, and the handler gets the endpoint's own ``Request``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgi_core.exceptions import HTTPException, WebSocketException
from asgi_core.requests import HTTPConnection, Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_core.websockets import WebSocket, WebSocketState
from asgi_middleware._chain import Wraps
from asgi_middleware._handlers import call_handler
from asgi_responses import PlainTextResponse, Response

__all__ = ["EXCEPTION_HANDLERS_SCOPE_KEY", "ExceptionHandler", "ExceptionMiddleware"]

EXCEPTION_HANDLERS_SCOPE_KEY = "starlette.exception_handlers"
"""The scope key where :class:`ExceptionMiddleware` publishes its handlers (Starlette's
key): ``(dict[exception class, handler], dict[status code, handler])``."""

ExceptionHandler = Callable[[Any, Exception], "Response | Awaitable[Response | None] | None"]
"""``handler(request_or_websocket, exc)``, sync or async. For HTTP it returns the
response to send; for a WebSocket it answers the connection itself (usually by closing
it) and its return value is ignored."""

_NO_BODY_STATUS = frozenset({204, 304})
_OPEN = (WebSocketState.CONNECTING, WebSocketState.CONNECTED)


class ExceptionMiddleware(Wraps):
    """Send the response of the handler registered for an exception the app raised.

    ``handlers`` maps an ``int`` status code (matched against
    ``HTTPException.status_code``) or an exception class to a handler.
    """

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self._status_handlers: dict[int, ExceptionHandler] = {}
        self._exception_handlers: dict[type[BaseException], ExceptionHandler] = {
            HTTPException: self.http_exception,
            WebSocketException: self.websocket_exception,
        }
        # Published as is on every request: one scope store, no allocation. The pair
        # holds the dicts themselves, so add_exception_handler() shows up in it.
        self._published = (self._exception_handlers, self._status_handlers)
        for key, handler in (handlers or {}).items():
            self.add_exception_handler(key, handler)

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Register ``handler`` for a status code or an exception class."""
        if isinstance(exc_class_or_status_code, int):
            self._status_handlers[exc_class_or_status_code] = handler
        elif isinstance(exc_class_or_status_code, type) and issubclass(
            exc_class_or_status_code, BaseException
        ):
            self._exception_handlers[exc_class_or_status_code] = handler
        else:
            raise TypeError(
                "An exception handler key must be an int status code or an exception "
                f"class, not {exc_class_or_status_code!r}."
            )

    def _lookup(self, exc: Exception) -> ExceptionHandler | None:
        if isinstance(exc, HTTPException):
            handler = self._status_handlers.get(exc.status_code)
            if handler is not None:
                return handler
        for cls in type(exc).__mro__:
            handler = self._exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "websocket":
            await self._call_websocket(scope, receive, send)
            return
        if scope_type != "http":
            await self._call(scope, receive, send)
            return

        scope[EXCEPTION_HANDLERS_SCOPE_KEY] = self._published
        response_started = False

        # A plain function handing back send's awaitable: no extra coroutine per message.
        def tracked_send(message: Message) -> Awaitable[None]:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            return send(message)

        try:
            await self._call(scope, receive, tracked_send)
        except Exception as exc:
            handler = self._lookup(exc)
            if handler is None:
                raise
            await self._respond(handler, exc, response_started, scope, receive, send)

    async def _call_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """:meth:`__call__` for a WebSocket: the handler's ``WebSocket`` knows how far
        the app took the handshake (accepted, closed, denied)."""
        scope[EXCEPTION_HANDLERS_SCOPE_KEY] = self._published
        state = WebSocketState.CONNECTING

        def tracked_send(message: Message) -> Awaitable[None]:
            nonlocal state
            message_type = message["type"]
            if message_type == "websocket.accept":
                state = WebSocketState.CONNECTED
            elif message_type == "websocket.close":
                state = WebSocketState.DISCONNECTED
            elif message_type == "websocket.http.response.start":
                state = WebSocketState.RESPONSE
            return send(message)

        try:
            await self._call(scope, receive, tracked_send)
        except Exception as exc:
            handler = self._lookup(exc)
            if handler is None:
                raise
            websocket = WebSocket(scope, receive, send)
            websocket.application_state = state
            response = await call_handler(handler, websocket, exc)
            if response is not None:
                await response(scope, receive, websocket.send)

    async def _respond(
        self,
        handler: ExceptionHandler,
        exc: Exception,
        response_started: bool,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer ``exc`` over HTTP with ``handler`` (called while ``exc`` is handled)."""
        if response_started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        request = Request(scope, receive)
        response = await call_handler(handler, request, exc)
        if response is None:
            raise RuntimeError(
                f"The exception handler {handler!r} returned no response for {exc!r}."
            ) from exc
        await response(scope, receive, send)

    async def http_exception(self, request: HTTPConnection, exc: Exception) -> Response | None:
        """The default ``HTTPException`` handler (``request`` is the WebSocket for one).

        Over HTTP: the status code, the detail as plain text (no body for 204 and 304)
        and the exception's headers. On a WebSocket not accepted yet: that response as
        the handshake's denial response when the server supports the
        ``websocket.http.response`` extension, else a close with code 1008 (policy
        violation), which the server answers with HTTP 403. On an accepted WebSocket: a
        close with 1008. On one already closed or denied: nothing more to send.
        """
        assert isinstance(exc, HTTPException)
        if exc.status_code in _NO_BODY_STATUS:
            response = Response(status_code=exc.status_code, headers=exc.headers)
        else:
            response = PlainTextResponse(
                exc.detail, status_code=exc.status_code, headers=exc.headers
            )
        if not isinstance(request, WebSocket):
            return response
        state = request.application_state
        if state is WebSocketState.CONNECTING:
            await request.send_denial_response(response)
        elif state is WebSocketState.CONNECTED:
            await request.close(code=1008)
        return None

    async def websocket_exception(self, websocket: WebSocket, exc: Exception) -> None:
        """The default ``WebSocketException`` handler: close with its code and reason
        (unless the WebSocket is closed or denied already)."""
        assert isinstance(exc, WebSocketException)
        if websocket.application_state in _OPEN:
            await websocket.close(code=exc.code, reason=exc.reason)

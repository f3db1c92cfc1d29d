"""Write middleware as one ``dispatch(request, call_next)`` coroutine.

:class:`BaseHTTPMiddleware` runs your ``dispatch`` for every HTTP request.
``await call_next(request)`` runs the wrapped app and returns its response as soon as
the app has sent its status and headers; the body is *streamed* from the app to the
client as the app produces it, never buffered. ``response.body_iterator`` is an async
generator (``aclose()`` it if you stop reading part-way).

What it guarantees:

- the request body can be read in ``dispatch`` (``await request.body()``, ``json()``,
  ``form()``, ``stream()``) and the app still receives it: what ``dispatch`` read is
  replayed to the app. Read it *before* calling ``call_next``. At most the scope's
  ``max_buffered_size`` (see ``asgi_core.limits``) is kept for replay; if ``dispatch``
  streamed more than that, the app gets a ``RuntimeError`` when it reads the body.
  Reading the body in ``dispatch`` after the app read it raises
  ``RuntimeError("Stream consumed")`` (it never waits for a body that is gone);
- early hints (``http.response.early_hint``) go to the client at once;
  ``http.response.pathsend`` reaches the server unchanged (it is not turned into a
  body);
- the background tasks of the app's response run after the final body message was
  sent to the client, and so do those set on the response in ``dispatch``;
- context variables set in ``dispatch`` before ``call_next`` are visible to the app
  (it runs in a copy of ``dispatch``'s context). Variables the app sets are *not*
  visible in ``dispatch`` afterwards: the app runs in a task of its own;
- an exception the app raises before starting its response is raised by
  ``call_next``; one raised while streaming the body is raised while the response is
  sent; one raised afterwards (a background task) propagates to the server. If the
  app returns without a response, ``call_next`` raises ``RuntimeError("No response
  returned.")``;
- when the client goes away while the response is sent, the app sees it as the
  server would show it: ``receive()`` gives ``http.disconnect`` and ``send()`` raises
  ``OSError``. When ``dispatch`` returns another response without sending the app's,
  the app is cancelled: nothing hangs, nothing leaks.

Pure ASGI middleware is faster (no extra task per request); prefer it on hot paths.
Non-HTTP scopes (``websocket``, ``lifespan``) go straight to the app.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, MutableMapping
from typing import Any, cast

import anyio
from anyio.abc import TaskGroup

from asgi_core.limits import get_limits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_responses import Response, StreamingResponse

__all__ = [
    "AsyncContentStream",
    "BaseHTTPMiddleware",
    "BodyStreamGenerator",
    "DispatchFunction",
    "RequestResponseEndpoint",
]

RequestResponseEndpoint = Callable[[Request], Awaitable[Response]]
DispatchFunction = Callable[[Request, RequestResponseEndpoint], Awaitable[Response]]
BodyStreamGenerator = AsyncGenerator[bytes | MutableMapping[str, Any], None]
"""The type of ``call_next(request).body_iterator``: body chunks, or an ASGI message
(``http.response.pathsend``) to send as it is."""
AsyncContentStream = AsyncIterable[str | bytes | memoryview | MutableMapping[str, Any]]
"""What a streamed body may yield: text, bytes, or an ASGI message to send as it is."""


class BaseHTTPMiddleware:
    """Subclass and override :meth:`dispatch`, or pass ``dispatch=`` a coroutine
    function ``dispatch(request, call_next) -> Response``."""

    def __init__(self, app: ASGIApp, dispatch: DispatchFunction | None = None) -> None:
        self.app = app
        self.dispatch_func: DispatchFunction = self.dispatch if dispatch is None else dispatch

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Handle ``request``; ``await call_next(request)`` gets the app's response."""
        raise NotImplementedError(
            "Override BaseHTTPMiddleware.dispatch() or pass dispatch= to the constructor."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        receiver = _BodyReplay(receive, get_limits(scope).max_buffered_size)
        request = Request(scope, receiver.dispatch_receive, send)
        error: Exception | None = None
        async with anyio.create_task_group() as task_group:
            run = _AppRun(self.app, scope, receiver, task_group, send)
            try:
                response = await self.dispatch_func(request, run.call_next)
                await response(scope, receiver.outer_receive, send)
            except Exception as exc:  # noqa: BLE001 - re-raised once the app is settled
                error = exc
            run.finish()
        if error is not None:
            raise error
        run.deliver_error()  # e.g. raised by a background task


class _BodyReplay:
    """Shares the client's ``receive`` between ``dispatch``, the app and the response.

    What ``dispatch`` reads of the body is recorded and replayed to the app. Once the
    body is complete, the next message is the disconnect: it is remembered and given
    to every later caller, so concurrent watchers (the app's and the response's) all
    see it without calling the server's ``receive`` twice at once.
    """

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._recorded: list[Message] = []
        self._recorded_size = 0
        self._overflowed = False
        self._cursor = 0
        self._body_done = False
        self._disconnect: Message | None = None
        self._disconnected = anyio.Event()
        self._lock = anyio.Lock()
        self.app_started = False
        self._app_read = False  # the app received body the server sent (not a replay)

    async def _next(self) -> Message:
        if self._disconnect is not None:
            return self._disconnect
        # Taken without a checkpoint when free, so Request.is_disconnected()'s
        # cancelled peek still reaches the server's receive.
        if self._lock.locked():
            await self._lock.acquire()
        else:
            self._lock.acquire_nowait()
        try:
            seen = self._seen_disconnect()  # set while this task waited for the lock
            if seen is not None:
                return seen
            message = await self._receive()
        finally:
            self._lock.release()
        if message["type"] == "http.disconnect":
            self._disconnect = message
            self._disconnected.set()
        elif not message.get("more_body", False):
            self._body_done = True
        return message

    def _seen_disconnect(self) -> Message | None:
        return self._disconnect

    def disconnected(self) -> None:
        """The client is gone (a send failed): every later receive says so."""
        self._disconnect = self._disconnect or {"type": "http.disconnect"}
        self._disconnected.set()

    async def dispatch_receive(self) -> Message:
        if self._app_read:
            # What is left of the body belongs to the app, which read some or all of
            # it: waiting here for more would wait for the client's disconnect.
            raise RuntimeError("Stream consumed")
        message = await self._next()
        if message["type"] == "http.request" and not self._overflowed:
            self._recorded_size += len(message.get("body", b""))
            if self._recorded_size > self._limit:
                self._overflowed = True
                self._recorded.clear()
            else:
                self._recorded.append(message)
        return message

    async def app_receive(self) -> Message:
        if self._overflowed:
            raise RuntimeError(
                "The request body was consumed by the middleware's dispatch() and is too "
                f"large to replay to the app (more than {self._limit} bytes; see "
                "RequestLimits.max_buffered_size)."
            )
        if self._cursor < len(self._recorded):
            message = self._recorded[self._cursor]
            self._cursor += 1
            return message
        message = await self._next()
        if message["type"] == "http.request":
            self._app_read = True
        return message

    async def outer_receive(self) -> Message:
        if self.app_started and not self._body_done:
            # The app owns the rest of the body; wait for it to see the disconnect.
            await self._disconnected.wait()
            assert self._disconnect is not None
            return self._disconnect
        return await self._next()


class _ClientGone(OSError):
    """What the app's ``send`` raises once the client went away (ASGI 2.4)."""


class _AppRun:
    """The app running in a task of its own, its messages passed through a channel."""

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        receiver: _BodyReplay,
        task_group: TaskGroup,
        send: Send,
    ) -> None:
        self._app = app
        self._scope = scope
        self._receiver = receiver
        self._task_group = task_group
        self._outer_send = send
        self._send_stream, self.messages = anyio.create_memory_object_stream[Message]()
        self._cancel_scope = anyio.CancelScope()
        self._response_sent = anyio.Event()
        self._error: Exception | None = None
        self._error_delivered = False
        self.complete = False
        self.client_gone = False

    async def call_next(self, request: Request) -> Response:
        if self._receiver.app_started:
            raise RuntimeError("call_next() can only be called once per request.")
        self._receiver.app_started = True
        self._task_group.start_soon(self._run)
        info: Any = None
        while True:
            try:
                message = await self.messages.receive()
            except anyio.EndOfStream:
                self.deliver_error()
                raise RuntimeError("No response returned.") from None
            kind = message["type"]
            if kind == "http.response.early_hint":
                await self._outer_send(message)
            elif kind == "http.response.debug":
                info = message.get("info")
            else:
                break
        if kind != "http.response.start":
            raise RuntimeError(f'Expected the app to send "http.response.start", got {kind!r}.')
        headers = list(message.get("headers", ()))
        return _StreamedResponse(message["status"], headers, self, info)

    async def _send(self, message: Message) -> None:
        try:
            await self._send_stream.send(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise _ClientGone("The client disconnected.") from None
        kind = message["type"]
        if kind == "http.response.pathsend" or (
            kind == "http.response.body" and not message.get("more_body", False)
        ):
            # The app's background tasks wait until the client has the whole body.
            await self._response_sent.wait()

    async def _run(self) -> None:
        with self._cancel_scope, self._send_stream:
            try:
                await self._app(self._scope, self._receiver.app_receive, self._send)
            except _ClientGone:
                pass  # the client left, as the app was told: not an error
            except Exception as exc:  # noqa: BLE001 - re-raised by call_next or the body
                self._error = exc

    def deliver_error(self) -> None:
        """Raise the app's exception, if it raised one (at most once)."""
        if self._error is not None and not self._error_delivered:
            self._error_delivered = True
            raise self._error

    def disconnected(self) -> None:
        """The client went away while the response was sent: tell the app."""
        self.client_gone = True
        self._receiver.disconnected()

    def finish(self) -> None:
        """The response is sent (or abandoned): cancel the app if its body was not
        consumed to the end (unless the client left: then the app is told so), and
        stop accepting its messages."""
        if not self.complete and not self.client_gone:
            self._cancel_scope.cancel()
        self._response_sent.set()
        self.messages.close()
        self._send_stream.close()  # the app may never have been called


async def _body_stream(run: _AppRun) -> BodyStreamGenerator:
    """The app's response body, chunk by chunk, as the app sends it; a
    ``http.response.pathsend`` message is yielded as it is."""
    while not run.complete:
        try:
            message = await run.messages.receive()
        except anyio.EndOfStream:
            run.deliver_error()
            return
        kind = message["type"]
        if kind == "http.response.pathsend":
            run.complete = True
            yield message
            return
        if kind != "http.response.body":
            continue
        if not message.get("more_body", False):
            run.complete = True
        body: bytes = message.get("body", b"")
        if body:
            yield body


class _StreamedResponse(StreamingResponse):
    """What ``call_next`` returns: the app's status and headers, its body streamed.

    Headers can be changed and ``background`` set in ``dispatch`` before returning it.
    """

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        run: _AppRun,
        info: Any = None,
    ) -> None:
        body = cast(AsyncIterable[bytes], _body_stream(run))
        super().__init__(body, status_code=status_code)
        self.raw_headers = raw_headers
        self.info = info
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._stream(send)
        except OSError:
            # ASGI 2.4: the server's send raises OSError once the client is gone.
            self._run.disconnected()
            return
        if self.background is not None:
            await self.background()

    async def _stream(self, send: Send) -> None:
        if self.info is not None:
            await send({"type": "http.response.debug", "info": self.info})
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        closed = False
        async for chunk in cast(AsyncContentStream, self.body_iterator):
            if isinstance(chunk, MutableMapping):  # pathsend: the server sends the file
                closed = True
                await send(chunk)
                continue
            if isinstance(chunk, str):
                chunk = chunk.encode(self.charset)
            await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
        if not closed:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

"""The in-process HTTP transport: runs the ASGI app for each httpx request.

`_HTTPExchange` is the server side of one request, written against anyio so it runs on
asyncio and trio; the two transports are thin seams that drive it either through a
blocking portal (sync client) or in the caller's event loop (async client).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

import anyio
import anyio.to_thread
import httpx
from anyio.abc import TaskGroup
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from asgi_core.types import ASGIApp, Message, Scope

__all__ = ["UPGRADE", "AsyncASGITransport", "Server", "SyncASGITransport"]

# The request extension that marks a websocket handshake (see ``_upgrade``).
UPGRADE = "asgi_testkit.websocket_upgrade"

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ASGI = {"version": "3.0", "spec_version": "2.4"}
_FILE_CHUNK = 65_536
_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_ERROR_BODY)).encode("ascii")),
]


@dataclass
class Server:
    """What the client knows about the app it serves: settings plus live resources."""

    app: ASGIApp
    raise_server_exceptions: bool
    root_path: str
    client: tuple[str, int]
    timeout: float | None
    state: dict[str, Any] = field(default_factory=dict)
    task_group: TaskGroup | None = None

    def scope(self, request: httpx.Request, scope_type: str) -> Scope:
        """The ASGI connection scope for ``request`` ("http" or "websocket").

        ``path`` and ``raw_path`` are the request's own: a ``root_path`` is reported
        beside them, never prefixed to them (the test writes the full URL).
        """
        url = request.url
        scheme = url.scheme
        if scope_type == "websocket":
            scheme = "wss" if scheme in ("https", "wss") else "ws"
        raw_path = url.raw_path.split(b"?", 1)[0]
        return {
            "type": scope_type,
            "asgi": dict(_ASGI),
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "root_path": self.root_path,
            "query_string": url.query,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or _DEFAULT_PORTS.get(scheme, 80)),
            "state": dict(self.state),
        }

    def websocket_scope(self, request: httpx.Request) -> Scope:
        """The scope of a websocket handshake; subprotocols come from its header."""
        scope = self.scope(request, "websocket")
        offered = request.headers.get("sec-websocket-protocol", "")
        scope["subprotocols"] = [name.strip() for name in offered.split(",") if name.strip()]
        scope["extensions"] = {"websocket.http.response": {}}
        del scope["method"]
        return scope


def request_timeout(request: httpx.Request, default: float | None) -> float | None:
    """The read timeout httpx attached to ``request`` (per-request ``timeout=``)."""
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeouts.get("read", default)


def describe(request: httpx.Request) -> str:
    return f"{request.method} {request.url}"


def timeout_error(what: str, timeout: float | None) -> TimeoutError:
    return TimeoutError(
        f"The ASGI app did not answer {what} within {timeout} s. If the app is just slow, "
        "pass a larger timeout (or timeout=None to wait forever) to the test client."
    )


# -- request bodies ----------------------------------------------------------------------


class _Body(Protocol):
    """Yields the request body as (chunk, more_body) pairs."""

    async def next(self) -> tuple[bytes, bool]:
        """The next chunk, and whether more follow."""


class _BytesBody:
    def __init__(self, content: bytes) -> None:
        self._content = content

    async def next(self) -> tuple[bytes, bool]:
        content, self._content = self._content, b""
        return content, False


class _SyncIterBody:
    """A sync iterator (a generator given as ``content=``), read in a worker thread."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._iterator = iter(stream)

    async def next(self) -> tuple[bytes, bool]:
        chunk = await anyio.to_thread.run_sync(next, self._iterator, None)
        return (b"", False) if chunk is None else (chunk, True)


class _AsyncIterBody:
    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._iterator: AsyncIterator[bytes] = stream.__aiter__()

    async def next(self) -> tuple[bytes, bool]:
        try:
            return await self._iterator.__anext__(), True
        except StopAsyncIteration:
            return b"", False


def _body_of(request: httpx.Request) -> _Body:
    try:
        return _BytesBody(request.content)
    except httpx.RequestNotRead:
        pass
    stream = request.stream
    if isinstance(stream, httpx.SyncByteStream):
        return _SyncIterBody(stream)
    return _AsyncIterBody(stream)


# -- one exchange ------------------------------------------------------------------------


@dataclass
class _Start:
    status: int
    headers: list[tuple[bytes, bytes]]


@dataclass
class _Chunk:
    data: bytes
    last: bool  # the end of the body: the client knows the body was delivered whole


class _HTTPExchange:
    """The server side of one HTTP request: runs the app and relays its response.

    Must be created in the event loop. ``run`` is the app's task; the consumer calls
    ``receive_start`` once, then ``receive_body`` until it returns None, then ``close``
    (or ``cancel`` to abandon the response).
    """

    def __init__(self, server: Server, request: httpx.Request, *, buffered: bool = False) -> None:
        self._app = server.app
        self._raise = server.raise_server_exceptions
        self._url = request.url
        self._scope = _http_scope(server, request)
        self._body = _body_of(request)
        self.what = describe(request)
        self._head = request.method == "HEAD"
        buffer = math.inf if buffered else 0
        self._events_in: MemoryObjectSendStream[_Start | _Chunk]
        self._events: MemoryObjectReceiveStream[_Start | _Chunk]
        self._events_in, self._events = anyio.create_memory_object_stream[_Start | _Chunk](buffer)
        self._cancel_scope = anyio.CancelScope()
        self._complete = anyio.Event()
        self._finished = anyio.Event()
        self._error: Exception | None = None
        self._reported = False
        self._request_done = False
        self._started = False
        self._body_done = False
        self._delivered = False  # the client received the end of the body
        self._trailers: list[tuple[bytes, bytes]] | None = None  # a list once declared
        self._trailers_done = False
        self._fallback: bytes | None = None
        self._early_hints: list[httpx.Headers] = []
        self._pushes: list[httpx.Request] = []
        self._debug: dict[str, Any] | None = None
        self.response: httpx.Response | None = None

    # the app's side

    async def run(self) -> None:
        try:
            with self._cancel_scope:
                await self._app(self._scope, self._receive, self._send)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test, or a 500
            self._error = exc
        except anyio.get_cancelled_exc_class():
            # The client itself is closing (its portal or task group): the response will
            # not be read through it, so its end of the stream is closed too.
            self._events.close()
            raise
        finally:
            self._complete.set()
            self._events_in.close()
            self._finished.set()

    async def _receive(self) -> Message:
        if not self._request_done:
            chunk, more = await self._body.next()
            self._request_done = not more
            return {"type": "http.request", "body": chunk, "more_body": more}
        if not self._complete.is_set():  # once complete, answer without waiting
            await self._complete.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if self._complete.is_set():
            raise RuntimeError(f"The app sent {kind!r} after the response was complete.")
        if kind == "http.response.start":
            if self._started:
                raise RuntimeError("The app sent 'http.response.start' twice.")
            self._started = True
            if message.get("trailers", False):
                self._trailers = []
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
            await self._events_in.send(_Start(int(message["status"]), headers))
        elif kind == "http.response.early_hint":
            if self._started:
                raise RuntimeError("The app sent 'http.response.early_hint' after the start.")
            links = message.get("links", ())
            self._early_hints.append(httpx.Headers([(b"link", bytes(link)) for link in links]))
        elif kind == "http.response.debug":
            self._debug = dict(message.get("info", {}))
        elif kind == "http.response.push":
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
            url = self._url.join(str(message["path"]))
            self._pushes.append(httpx.Request("GET", url, headers=headers))
        elif not self._started:
            raise RuntimeError(f"The app sent {kind!r} before 'http.response.start'.")
        elif kind == "http.response.body":
            last = not message.get("more_body", False)
            await self._send_body(bytes(message.get("body", b"")), last)
            if last:
                self._end_body()
        elif kind == "http.response.pathsend":
            await self._send_file(str(message["path"]))
        elif kind == "http.response.trailers" and self._trailers is not None:
            if not self._body_done:
                raise RuntimeError("The app sent 'http.response.trailers' before the body ended.")
            self._trailers.extend(
                (bytes(name), bytes(value)) for name, value in message.get("headers", ())
            )
            if not message.get("more_trailers", False):
                self._trailers_done = True
                self._check_complete()
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} in an HTTP response.")

    async def _send_body(self, chunk: bytes, last: bool) -> None:
        if self._body_done:
            raise RuntimeError("The app sent a response body after the body was complete.")
        if self._head:
            chunk = b""
        if chunk or last:
            await self._events_in.send(_Chunk(chunk, last))

    async def _send_file(self, path: str) -> None:
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(_FILE_CHUNK):
                await self._send_body(chunk, False)
        await self._send_body(b"", True)
        self._end_body()

    def _end_body(self) -> None:
        self._body_done = True
        self._check_complete()

    def _check_complete(self) -> None:
        if self._body_done and (self._trailers is None or self._trailers_done):
            self._complete.set()

    # the client's side

    async def _next(self, timeout: float | None) -> _Start | _Chunk | None:
        try:
            with anyio.fail_after(timeout):
                return await self._events.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            # The app has returned and every event was read (or the client closed):
            # nothing more can come.
            self._events.close()
            return None
        except TimeoutError:
            await self.cancel()
            raise timeout_error(self.what, timeout) from None

    def _failure(self, reason: str) -> Exception | None:
        """The exception to raise for a failed app, or None to answer like a server."""
        if not self._raise:
            return None
        if self._error is not None:
            self._reported = True
            return self._error
        return RuntimeError(f"The ASGI app {reason} ({self.what}).")

    async def receive_start(self, timeout: float | None) -> _Start:
        event = await self._next(timeout)
        if isinstance(event, _Start):
            return event
        error = self._failure("returned without sending 'http.response.start'")
        if error is not None:
            raise error
        self._fallback = b"" if self._head else _ERROR_BODY
        return _Start(500, list(_ERROR_HEADERS))

    async def receive_body(self, timeout: float | None) -> bytes | None:
        if self._fallback is not None:
            chunk, self._fallback = self._fallback, b""
            if chunk:
                return chunk
            return None
        while isinstance(event := await self._next(timeout), _Chunk):
            self._delivered = event.last
            if event.data:
                return event.data
        if not self._complete_normally():
            error = self._failure("returned before completing the response")
            if error is not None:
                raise error
        if self.response is not None:
            decorate(self.response, self.extensions())
        return None

    def _complete_normally(self) -> bool:
        return (
            self._error is None
            and self._body_done
            and (self._trailers is None or self._trailers_done)
        )

    async def close(self, timeout: float | None) -> None:
        """The client is done with the response.

        A complete response lets the app finish its remaining work (background tasks),
        within ``timeout``; an incomplete one cancels the app. An error of the app's that
        the client has not raised yet is raised now (with ``raise_server_exceptions``).
        """
        if self._delivered:
            try:
                with anyio.fail_after(timeout):
                    await self._finished.wait()
            except TimeoutError:
                await self.cancel()
                raise timeout_error(f"the end of {self.what}", timeout) from None
        await self.cancel()
        if self._raise and self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    async def cancel(self) -> None:
        """Cancel the app (the client went away) and wait until it has stopped."""
        self._cancel_scope.cancel()
        await self._finished.wait()
        self._events.close()

    def extensions(self) -> dict[str, Any]:
        """The response extensions recorded so far (trailers, early hints, pushes, debug)."""
        extensions: dict[str, Any] = {}
        if self._trailers is not None:
            # The list fills in place as trailers arrive after the body.
            extensions["http.response.trailers"] = self._trailers
        if self._early_hints:
            extensions["early_hints"] = list(self._early_hints)
        if self._pushes:
            extensions["push_promises"] = list(self._pushes)
        if self._debug is not None:
            extensions["http.response.debug"] = self._debug
        return extensions


def decorate(response: httpx.Response, extensions: dict[str, Any]) -> None:
    """Expose what the app sent beside the body on ``response``."""
    response.extensions.update(extensions)
    debug = extensions.get("http.response.debug", {})
    for name in ("template", "context"):
        if name in debug:
            setattr(response, name, debug[name])


def _http_scope(server: Server, request: httpx.Request) -> Scope:
    scope = server.scope(request, "http")
    scope["extensions"] = {
        "http.response.debug": {},
        "http.response.pathsend": {},
        "http.response.trailers": {},
        "http.response.early_hint": {},
        "http.response.push": {},
    }
    return scope


def _response(start: _Start, stream: Any, extensions: dict[str, Any]) -> httpx.Response:
    response = httpx.Response(start.status, headers=start.headers, stream=stream)
    decorate(response, extensions)
    return response


def _upgrade(request: httpx.Request) -> httpx.Response | None:
    """The answer to a websocket handshake request: its session runs the app, not HTTP."""
    if request.extensions.get(UPGRADE):
        return httpx.Response(101, request=request)
    return None


# -- sync --------------------------------------------------------------------------------


class _SyncResponseStream(httpx.SyncByteStream):
    def __init__(
        self,
        transport: SyncASGITransport,
        portal: BlockingPortal,
        exchange: _HTTPExchange,
        timeout: float | None,
        stack: ExitStack,
    ) -> None:
        self._transport = transport
        self._portal = portal
        self._exchange = exchange
        self._timeout = timeout
        self._stack = stack
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self._portal.call(self._exchange.receive_body, self._timeout)) is not None:
            yield chunk

    def close(self) -> None:
        self._end(partial(self._exchange.close, self._timeout))

    def abort(self) -> None:
        self._end(self._exchange.cancel)

    def _end(self, how: Callable[[], Awaitable[None]]) -> None:
        if self._closed:
            return
        self._closed = True
        self._transport.open.discard(self)
        with self._stack:
            self._portal.call(how)


class SyncASGITransport(httpx.BaseTransport):
    """Serves each request by running the app in a blocking portal's event loop."""

    def __init__(
        self, server: Server, portal: Callable[[], AbstractContextManager[BlockingPortal]]
    ) -> None:
        self._server = server
        self._portal = portal
        self.open: set[_SyncResponseStream] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        upgrade = _upgrade(request)
        if upgrade is not None:
            return upgrade
        timeout = request_timeout(request, self._server.timeout)
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal())
            exchange = portal.call(partial(_HTTPExchange, self._server, request))
            portal.start_task_soon(exchange.run)
            try:
                start = portal.call(exchange.receive_start, timeout)
            except BaseException:
                portal.call(exchange.cancel)
                raise
            stream = _SyncResponseStream(self, portal, exchange, timeout, stack.pop_all())
        self.open.add(stream)
        exchange.response = _response(start, stream, exchange.extensions())
        return exchange.response

    def close(self) -> None:
        """Cancel the responses that were never closed."""
        while self.open:
            self.open.pop().abort()


# -- async -------------------------------------------------------------------------------


class _AsyncResponseStream(httpx.AsyncByteStream):
    def __init__(
        self, transport: AsyncASGITransport, exchange: _HTTPExchange, timeout: float | None
    ) -> None:
        self._transport = transport
        self._exchange = exchange
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.receive_body(self._timeout)) is not None:
            yield chunk

    async def aclose(self) -> None:
        await self._end(partial(self._exchange.close, self._timeout))

    async def abort(self) -> None:
        await self._end(self._exchange.cancel)

    async def _end(self, how: Callable[[], Awaitable[None]]) -> None:
        if self._closed:
            return
        self._closed = True
        self._transport.open.discard(self)
        await how()


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """Serves each request by running the app in the caller's event loop.

    Inside ``async with AsyncTestClient(...)`` the app runs in the client's task group and
    responses stream; otherwise each request runs the app to completion (buffered).
    """

    def __init__(self, server: Server) -> None:
        self._server = server
        self.open: set[_AsyncResponseStream] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        upgrade = _upgrade(request)
        if upgrade is not None:
            return upgrade
        timeout = request_timeout(request, self._server.timeout)
        task_group = self._server.task_group
        if task_group is None:
            return await self._buffered(
                _HTTPExchange(self._server, request, buffered=True), timeout
            )
        exchange = _HTTPExchange(self._server, request)
        task_group.start_soon(exchange.run)
        try:
            start = await exchange.receive_start(timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await exchange.cancel()
            raise
        stream = _AsyncResponseStream(self, exchange, timeout)
        self.open.add(stream)
        exchange.response = _response(start, stream, exchange.extensions())
        return exchange.response

    async def aclose(self) -> None:
        """Cancel the responses that were never closed."""
        while self.open:
            await self.open.pop().abort()

    async def _buffered(self, exchange: _HTTPExchange, timeout: float | None) -> httpx.Response:
        # The events buffer is unbounded, so the app runs to completion right here.
        with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
            await exchange.run()
        if scope.cancelled_caught:
            await exchange.cancel()
            raise TimeoutError(
                f"The ASGI app did not finish {exchange.what} within {timeout} s. Outside "
                "`async with AsyncTestClient(app) as client:` a response is read whole "
                "before it is returned; enter the client to stream, or raise the timeout."
            )
        start = await exchange.receive_start(None)
        chunks: list[bytes] = []
        while (chunk := await exchange.receive_body(None)) is not None:
            chunks.append(chunk)
        response = _response(start, httpx.ByteStream(b"".join(chunks)), {})
        decorate(response, exchange.extensions())
        return response

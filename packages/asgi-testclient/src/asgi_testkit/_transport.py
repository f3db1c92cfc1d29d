"""The in-process HTTP transport: runs the ASGI app for each httpx request.

`_HTTPExchange` is the server side of one request, written against anyio so it runs on
asyncio and trio; the two transports are thin seams that drive it either through a
blocking portal (sync client) or in the caller's event loop (async client).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
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

__all__ = ["AsyncASGITransport", "Server", "SyncASGITransport"]

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
    portal: BlockingPortal | None = None
    task_group: TaskGroup | None = None

    def scope(self, request: httpx.Request, scope_type: str) -> Scope:
        """The ASGI connection scope for ``request`` ("http" or "websocket")."""
        url = request.url
        scheme = url.scheme
        if scope_type == "websocket":
            scheme = "wss" if scheme in ("https", "wss") else "ws"
        raw_path = url.raw_path.split(b"?", 1)[0]
        root = self.root_path
        return {
            "type": scope_type,
            "asgi": dict(_ASGI),
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": root + unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": root.encode("utf-8") + raw_path,
            "root_path": root,
            "query_string": url.query,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or _DEFAULT_PORTS.get(scheme, 80)),
            "state": dict(self.state),
        }


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


class _HTTPExchange:
    """The server side of one HTTP request: runs the app and relays its response.

    Must be created in the event loop. ``run`` is the app's task; the consumer calls
    ``receive_start`` once, then ``receive_body`` until it returns None, or ``aclose``.
    """

    def __init__(
        self, server: Server, scope: Scope, body: _Body, what: str, *, buffered: bool = False
    ) -> None:
        self._app = server.app
        self._raise = server.raise_server_exceptions
        self._scope = scope
        self._body = body
        self.what = what
        self._head = scope["method"] == "HEAD"
        buffer = math.inf if buffered else 0
        self._events_in: MemoryObjectSendStream[_Start | bytes]
        self._events: MemoryObjectReceiveStream[_Start | bytes]
        self._events_in, self._events = anyio.create_memory_object_stream[_Start | bytes](buffer)
        self._cancel_scope = anyio.CancelScope()
        self._complete = anyio.Event()
        self._finished = anyio.Event()
        self._error: Exception | None = None
        self._request_done = False
        self._started = False
        self._body_done = False
        self._trailers_expected = False
        self._trailers_done = False
        self._fallback: bytes | None = None
        self._trailers: list[tuple[bytes, bytes]] = []
        self._early_hints: list[httpx.Headers] = []
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
            self._trailers_expected = bool(message.get("trailers", False))
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
            await self._events_in.send(_Start(int(message["status"]), headers))
        elif kind == "http.response.early_hint":
            if self._started:
                raise RuntimeError("The app sent 'http.response.early_hint' after the start.")
            links = message.get("links", ())
            self._early_hints.append(httpx.Headers([(b"link", bytes(link)) for link in links]))
        elif kind == "http.response.debug":
            self._debug = dict(message.get("info", {}))
        elif not self._started:
            raise RuntimeError(f"The app sent {kind!r} before 'http.response.start'.")
        elif kind == "http.response.body":
            await self._send_body(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self._end_body()
        elif kind == "http.response.pathsend":
            await self._send_file(str(message["path"]))
        elif kind == "http.response.trailers" and self._trailers_expected:
            self._trailers.extend(
                (bytes(name), bytes(value)) for name, value in message.get("headers", ())
            )
            if not message.get("more_trailers", False):
                self._trailers_done = True
                self._check_complete()
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} in an HTTP response.")

    async def _send_body(self, chunk: bytes) -> None:
        if self._body_done:
            raise RuntimeError("The app sent a response body after the body was complete.")
        if chunk and not self._head:
            await self._events_in.send(chunk)

    async def _send_file(self, path: str) -> None:
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(_FILE_CHUNK):
                await self._send_body(chunk)
        self._end_body()

    def _end_body(self) -> None:
        self._body_done = True
        self._check_complete()

    def _check_complete(self) -> None:
        if self._body_done and (self._trailers_done or not self._trailers_expected):
            self._complete.set()

    # the client's side

    async def _next(self, timeout: float | None) -> _Start | bytes | None:
        try:
            with anyio.fail_after(timeout):
                return await self._events.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            # The app has returned and every event was read (or the client closed):
            # nothing more can come.
            self._events.close()
            return None
        except TimeoutError:
            await self.aclose()
            raise timeout_error(self.what, timeout) from None

    def _failure(self, reason: str) -> Exception | None:
        """The exception to raise for a failed app, or None to answer like a server."""
        if not self._raise:
            return None
        if self._error is not None:
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
        event = await self._next(timeout)
        if isinstance(event, bytes):
            return event
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
            and not (self._trailers_expected and not self._trailers_done)
        )

    async def aclose(self) -> None:
        """Cancel the app (the client went away) and wait until it has stopped."""
        self._cancel_scope.cancel()
        await self._finished.wait()
        self._events.close()

    def extensions(self) -> dict[str, Any]:
        """The response extensions recorded so far (trailers, early hints, debug)."""
        extensions: dict[str, Any] = {}
        if self._trailers_done:
            extensions["trailers"] = httpx.Headers(self._trailers)
        if self._early_hints:
            extensions["early_hints"] = list(self._early_hints)
        if self._debug is not None:
            extensions["debug"] = self._debug
        return extensions


def decorate(response: httpx.Response, extensions: dict[str, Any]) -> None:
    """Expose what the app sent beside the body on ``response``."""
    response.extensions.update(extensions)
    debug = extensions.get("debug", {})
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
    }
    return scope


def _response(start: _Start, stream: Any, extensions: dict[str, Any]) -> httpx.Response:
    response = httpx.Response(start.status, headers=start.headers, stream=stream)
    decorate(response, extensions)
    return response


# -- sync --------------------------------------------------------------------------------


class _SyncResponseStream(httpx.SyncByteStream):
    def __init__(
        self,
        portal: BlockingPortal,
        exchange: _HTTPExchange,
        timeout: float | None,
        stack: ExitStack,
    ) -> None:
        self._portal = portal
        self._exchange = exchange
        self._timeout = timeout
        self._stack = stack

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self._portal.call(self._exchange.receive_body, self._timeout)) is not None:
            yield chunk

    def close(self) -> None:
        with self._stack:
            self._portal.call(self._exchange.aclose)


class SyncASGITransport(httpx.BaseTransport):
    """Serves each request by running the app in a blocking portal's event loop."""

    def __init__(
        self, server: Server, portal: Callable[[], AbstractContextManager[BlockingPortal]]
    ) -> None:
        self._server = server
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request_timeout(request, self._server.timeout)
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal())
            exchange = portal.call(
                partial(
                    _HTTPExchange,
                    self._server,
                    _http_scope(self._server, request),
                    _body_of(request),
                    describe(request),
                )
            )
            portal.start_task_soon(exchange.run)
            try:
                start = portal.call(exchange.receive_start, timeout)
            except BaseException:
                portal.call(exchange.aclose)
                raise
            stream = _SyncResponseStream(portal, exchange, timeout, stack.pop_all())
        exchange.response = _response(start, stream, exchange.extensions())
        return exchange.response


# -- async -------------------------------------------------------------------------------


class _AsyncResponseStream(httpx.AsyncByteStream):
    def __init__(self, exchange: _HTTPExchange, timeout: float | None) -> None:
        self._exchange = exchange
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._exchange.receive_body(self._timeout)) is not None:
            yield chunk

    async def aclose(self) -> None:
        await self._exchange.aclose()


class AsyncASGITransport(httpx.AsyncBaseTransport):
    """Serves each request by running the app in the caller's event loop.

    Inside ``async with AsyncTestClient(...)`` the app runs in the client's task group and
    responses stream; otherwise each request runs the app to completion (buffered).
    """

    def __init__(self, server: Server) -> None:
        self._server = server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request_timeout(request, self._server.timeout)
        task_group = self._server.task_group
        scope = _http_scope(self._server, request)
        what = describe(request)
        if task_group is None:
            return await self._buffered(
                _HTTPExchange(self._server, scope, _body_of(request), what, buffered=True),
                timeout,
            )
        exchange = _HTTPExchange(self._server, scope, _body_of(request), what)
        task_group.start_soon(exchange.run)
        try:
            start = await exchange.receive_start(timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await exchange.aclose()
            raise
        exchange.response = _response(
            start, _AsyncResponseStream(exchange, timeout), exchange.extensions()
        )
        return exchange.response

    async def _buffered(self, exchange: _HTTPExchange, timeout: float | None) -> httpx.Response:
        # The events buffer is unbounded, so the app runs to completion right here.
        with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
            await exchange.run()
        if scope.cancelled_caught:
            await exchange.aclose()
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

"""Serve a WSGI application (Flask, Django, Bottle...) from an ASGI server.

:class:`WSGIMiddleware` runs the WSGI app in a worker thread, per PEP 3333. Both
bodies stream, with bounded memory:

- ``wsgi.input`` pulls the request body from the ASGI ``receive`` one message at a
  time, only when the app reads it (``read``, ``readline``, iteration): at most one
  message is held beyond what the app asked for;
- what the app yields (or passes to ``write()``) goes through a bounded anyio memory
  object stream to the event loop, which sends it; when the stream is full the app's
  thread waits, so a fast app never outruns a slow client.

The status and headers are sent with the first non-empty body chunk (so
``start_response(..., exc_info)`` can still replace them until then), and the
iterable's ``close()`` is always called. The request body is capped by the scope's
``max_body_size`` (``asgi_core.limits``): past it, reading raises
``HTTPException(413)`` in the app. Header names holding ``_`` are dropped, as
nginx and Apache do: ``X_User`` and ``X-User`` would both become ``HTTP_X_USER``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
import anyio.from_thread
import anyio.to_thread

from asgi_core.exceptions import HTTPException
from asgi_core.limits import get_limits
from asgi_core.requests import ClientDisconnect
from asgi_core.types import Message, Receive, Scope, Send

__all__ = ["WSGIApp", "WSGIMiddleware", "build_environ"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_BUFFERED_MESSAGES = 8
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WSGIMiddleware:
    """Wrap a WSGI ``app`` as an ASGI app.

    HTTP requests run the WSGI app in a worker thread; WebSocket connections are
    refused (WSGI has none); the lifespan protocol is acknowledged.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await _Responder(self.app, scope, receive, send).run()
        elif kind == "lifespan":
            await _lifespan(receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000, "reason": ""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _path_bytes(scope: Scope) -> bytes:
    """The request path, percent-decoded, as bytes.

    ``raw_path`` is preferred, so escapes that are not UTF-8 survive; it is used only
    when it agrees with ``path`` (a middleware may have rewritten ``path``).
    """
    path: str = scope["path"]
    raw_path = scope.get("raw_path")
    if raw_path:
        unquoted = unquote_to_bytes(raw_path)
        if unquoted.decode("utf-8", "replace") == path:
            return unquoted
    return path.encode("utf-8")


def build_environ(scope: Scope, wsgi_input: Any, errors: Any = None) -> dict[str, Any]:
    """The PEP 3333 ``environ`` of an ASGI HTTP ``scope`` (a pure function).

    Strings are "bytes as latin-1", as PEP 3333 requires: ``PATH_INFO`` is the
    percent-decoded path's bytes decoded as latin-1, without the ``root_path``
    prefix, which becomes ``SCRIPT_NAME``. Repeated headers are joined with ``,``
    (``Cookie`` with ``; ``).
    """
    root = scope.get("root_path", "").rstrip("/").encode("utf-8")
    path = _path_bytes(scope)
    if root and (path == root or path.startswith(root + b"/")):
        path = path[len(root) :]  # ASGI's path includes root_path; PATH_INFO does not
    scheme = scope.get("scheme", "http")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.decode("latin-1"),
        "PATH_INFO": path.decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": wsgi_input,
        "wsgi.errors": sys.stderr if errors is None else errors,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    server = scope.get("server")
    host, port = server if server else ("localhost", None)
    environ["SERVER_NAME"] = host
    environ["SERVER_PORT"] = str(_DEFAULT_PORTS.get(scheme, 80) if port is None else port)
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1")
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            key = "HTTP_" + key
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


class _WSGIInput:
    """``wsgi.input``: a read-only file over the request body, pulled on demand.

    Its methods run in the WSGI app's thread; each missing chunk is fetched by
    awaiting ``receive`` on the event loop.
    """

    def __init__(self, receive: Receive, max_body_size: int | None) -> None:
        self._receive = receive
        self._max_body_size = max_body_size
        self._buffer = bytearray()
        self._more = True
        self._received = 0

    async def _pull(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        self._more = message.get("more_body", False)
        body: bytes = message.get("body", b"")
        self._received += len(body)
        if self._max_body_size is not None and self._received > self._max_body_size:
            raise HTTPException(413, detail="Content Too Large")
        return body

    def _fill(self) -> bool:
        """Append the next chunk to the buffer; False once the body is exhausted."""
        if not self._more:
            return False
        self._buffer += anyio.from_thread.run(self._pull)
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        searched = 0
        while True:
            newline = self._buffer.find(b"\n", searched)
            if newline >= 0:
                end = newline + 1
                break
            searched = len(self._buffer)
            if (0 <= limit <= searched) or not self._fill():
                end = searched
                break
        if 0 <= limit < end:
            end = limit
        return self._take(end)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class _Responder:
    """One request: the WSGI app in a thread, its output sent from the event loop."""

    def __init__(self, app: WSGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_sent = False
        self.send_error: Exception | None = None
        self.outbox, self.inbox = anyio.create_memory_object_stream[Message](_BUFFERED_MESSAGES)

    async def run(self) -> None:
        wsgi_input = _WSGIInput(self.receive, get_limits(self.scope).max_body_size)
        environ = build_environ(self.scope, wsgi_input)
        error: Exception | None = None
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._sender)
            try:
                await anyio.to_thread.run_sync(self._run_app, environ)
            except Exception as exc:  # noqa: BLE001 - re-raised after the sender stopped
                error = exc
            finally:
                self.outbox.close()
        if self.send_error is not None:
            raise self.send_error  # the client went away: the server's send raised
        if error is not None:
            raise error

    async def _sender(self) -> None:
        with self.inbox:
            try:
                async for message in self.inbox:
                    await self.send(message)
            except Exception as exc:  # noqa: BLE001 - re-raised by run()
                self.send_error = exc

    # Everything below runs in the worker thread.

    def _put(self, message: Message) -> None:
        anyio.from_thread.run(self.outbox.send, message)

    def _send_body(self, chunk: bytes) -> None:
        if not self.headers_sent:
            self._send_start()
        self._put({"type": "http.response.body", "body": chunk, "more_body": True})

    def _send_start(self) -> None:
        if self.status is None:
            raise RuntimeError("The WSGI app sent a body before calling start_response().")
        self.headers_sent = True
        self._put({"type": "http.response.start", "status": self.status, "headers": self.headers})

    def start_response(
        self,
        status: str,
        response_headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise RuntimeError("start_response() called a second time without exc_info.")
        try:
            code = int(status.split(" ", 1)[0])
        except ValueError:
            raise ValueError(f'Invalid WSGI status {status!r}: expected "200 OK".') from None
        self.status = code
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response_headers
        ]
        return self._write

    def _write(self, data: bytes) -> None:
        """PEP 3333's legacy ``write()``: send ``data`` right away."""
        self._send_body(data)

    def _run_app(self, environ: dict[str, Any]) -> None:
        result = self.app(environ, self.start_response)
        try:
            for chunk in result:
                if chunk:
                    self._send_body(chunk)
            if not self.headers_sent:
                self._send_start()
            self._put({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

"""The test client: TestClient (sync, over a blocking portal), AsyncTestClient (in the
current loop), their websocket sessions and the exceptions they raise.

The in-process server lives in private modules: ``_transport`` (HTTP requests),
``_channel`` (websocket connections), ``_lifespan`` and ``_task`` (the app as a task).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import (
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    contextmanager,
    nullcontext,
)
from functools import partial
from types import TracebackType
from typing import Any, Literal

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from asgi_core.types import ASGIApp, Message
from asgi_core.websockets import WebSocketDisconnect

from ._channel import Denial, WebSocketChannel
from ._lifespan import Lifespan
from ._task import leave
from ._transport import AsyncASGITransport, Server, SyncASGITransport

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "TestClient",
    "WebSocketDenialResponse",
    "WebSocketDisconnect",
    "WebSocketTestSession",
]

DEFAULT_TIMEOUT = 30.0
CookieTypes = httpx.Cookies | dict[str, str] | list[tuple[str, str]] | None
_Mode = Literal["text", "binary"]


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = {"user-agent": "testclient"}
    merged.update(headers or {})
    return merged


def _websocket_headers(
    subprotocols: list[str] | None, extra: Mapping[str, str] | None
) -> dict[str, str]:
    """The handshake's headers: the upgrade, ``subprotocols``, then the test's ``extra``."""
    headers = {
        "connection": "upgrade",
        "upgrade": "websocket",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
    }
    if subprotocols:
        headers["sec-websocket-protocol"] = ", ".join(subprotocols)
    headers.update(extra or {})
    return headers


# -- exceptions -----------------------------------------------------------------------------


class WebSocketDenialResponse(httpx.Response, Exception):  # type: ignore[misc]
    """The app refused a websocket handshake with an HTTP response.

    Raised by ``websocket_connect`` when the app uses the ASGI "websocket.http.response"
    extension. It is an ``httpx.Response`` too: read ``status_code``, ``headers``, ``text``.
    """

    def __str__(self) -> str:
        return f"The app denied the websocket connection with HTTP {self.status_code}"


# -- websocket sessions ---------------------------------------------------------------------


def _checked(message: Message) -> Message:
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    return message


def _json_message(data: Any, mode: _Mode) -> Message:
    if mode not in ("text", "binary"):
        raise ValueError('The "mode" argument should be "text" or "binary".')
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if mode == "text":
        return {"type": "websocket.receive", "text": text}
    return {"type": "websocket.receive", "bytes": text.encode("utf-8")}


def _json_of(message: Message, mode: _Mode) -> Any:
    if mode not in ("text", "binary"):
        raise ValueError('The "mode" argument should be "text" or "binary".')
    if mode == "text":
        return json.loads(message["text"])
    return json.loads(message["bytes"].decode("utf-8"))


class _SessionBase:
    """What the two sessions share: the handshake's request and its outcome."""

    def __init__(self, server: Server, request: httpx.Request, subprotocols: list[str]) -> None:
        self._server = server
        self._request = request
        self._subprotocols = subprotocols
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []

    def _accepted(self, answer: Message | Denial) -> None:
        """Take the app's answer to the handshake; raise if it refused the connection."""
        if isinstance(answer, Denial):
            raise WebSocketDenialResponse(
                answer.status, headers=answer.headers, content=answer.body, request=self._request
            )
        message = _checked(answer)
        self.accepted_subprotocol = message.get("subprotocol")
        self.extra_headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]


class WebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used as a context manager in sync tests."""

    def __init__(
        self,
        server: Server,
        request: httpx.Request,
        subprotocols: list[str],
        portal: Callable[[], AbstractContextManager[BlockingPortal]],
    ) -> None:
        super().__init__(server, request, subprotocols)
        self._portal_factory = portal

    def __enter__(self) -> WebSocketTestSession:
        with ExitStack() as stack:
            portal = stack.enter_context(self._portal_factory())
            channel = portal.call(WebSocketChannel, self._server, self._request, self._subprotocols)
            portal.start_task_soon(channel.run)
            self._accepted(portal.call(channel.connect))
            self._portal, self._channel = portal, channel
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._stack:
            self._portal.call(self._channel.finish, exc_type is not None)

    def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        self._portal.call(self._channel.send, message)

    def send_text(self, data: str) -> None:
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: _Mode = "text") -> None:
        self.send(_json_message(data, mode))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side (the app receives a disconnect)."""
        self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    def receive(self) -> Message:
        """The next message the app sent (raw ASGI message, ``websocket.close`` included)."""
        return self._portal.call(self._channel.receive)

    def receive_text(self) -> str:
        text: str = _checked(self.receive())["text"]
        return text

    def receive_bytes(self) -> bytes:
        data: bytes = _checked(self.receive())["bytes"]
        return data

    def receive_json(self, mode: _Mode = "text") -> Any:
        return _json_of(_checked(self.receive()), mode)


class AsyncWebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used with ``async with`` in async tests."""

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        channel = WebSocketChannel(self._server, self._request, self._subprotocols)
        task_group.start_soon(channel.run)
        try:
            self._accepted(await channel.connect())
        except BaseException:
            await leave(stack, task_group)
            raise
        self._channel = channel
        self._close = partial(leave, stack, task_group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._channel.finish(exc_type is not None)
        finally:
            await self._close()

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        await self._channel.send(message)

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any, mode: _Mode = "text") -> None:
        await self.send(_json_message(data, mode))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection from the client side (the app receives a disconnect)."""
        await self.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def receive(self) -> Message:
        """The next message the app sent (raw ASGI message, ``websocket.close`` included)."""
        return await self._channel.receive()

    async def receive_text(self) -> str:
        text: str = _checked(await self.receive())["text"]
        return text

    async def receive_bytes(self) -> bytes:
        data: bytes = _checked(await self.receive())["bytes"]
        return data

    async def receive_json(self, mode: _Mode = "text") -> Any:
        return _json_of(_checked(await self.receive()), mode)


# -- clients -------------------------------------------------------------------------------


class _ClientBase:
    """What the sync and async clients share: the app, its in-process server and the
    lifespan they run."""

    def _serve(
        self,
        app: ASGIApp,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        timeout: float | None,
    ) -> Server:
        self.app = app
        self._server = Server(app, raise_server_exceptions, root_path, client, timeout)
        self._lifespan: Lifespan | None = None
        return self._server

    @property
    def app_state(self) -> dict[str, Any]:
        """The lifespan state the app filled at startup (shallow-copied into requests)."""
        return self._server.state


class TestClient(_ClientBase, httpx.Client):
    """An ``httpx.Client`` whose requests are served by an ASGI app, in process.

    The app runs in an anyio event loop in a helper thread (a blocking portal): one
    per request, or one for the whole ``with TestClient(app) as client:`` block, which
    also runs the app's lifespan. ``timeout`` bounds every wait for the app (seconds,
    None to wait forever).
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: CookieTypes = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        self.async_backend: dict[str, Any] = {
            "backend": backend,
            "backend_options": backend_options or {},
        }
        server = self._serve(app, raise_server_exceptions, root_path, client, timeout)
        self._stack: ExitStack | None = None
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=SyncASGITransport(server, self._portal),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    @contextmanager
    def _new_portal(self) -> Iterator[BlockingPortal]:
        with start_blocking_portal(**self.async_backend) as portal:
            try:
                yield portal
            finally:
                # Anything still running (an unclosed stream) is cancelled, never awaited.
                portal.call(portal.stop, True)

    def _portal(self) -> AbstractContextManager[BlockingPortal]:
        if self._server.portal is not None:
            return nullcontext(self._server.portal)
        return self._new_portal()

    def websocket_connect(
        self,
        url: str,
        subprotocols: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """A websocket session to ``url``; use it as a context manager."""
        merged = _websocket_headers(subprotocols, headers)
        request = self.build_request("GET", url, headers=merged, **kwargs)
        return WebSocketTestSession(self._server, request, list(subprotocols or ()), self._portal)

    def __enter__(self) -> TestClient:
        if self._stack is not None:
            raise RuntimeError("This TestClient is already entered; it runs one lifespan.")
        with ExitStack() as stack:
            portal = stack.enter_context(self._new_portal())
            lifespan = portal.call(Lifespan, self.app, self._server.timeout)
            self._server.state = lifespan.state
            portal.start_task_soon(lifespan.run)
            portal.call(lifespan.startup)
            self._server.portal = portal
            stack.callback(setattr, self._server, "portal", None)
            self._lifespan = lifespan
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        stack, lifespan, portal = self._stack, self._lifespan, self._server.portal
        if stack is None or lifespan is None or portal is None:
            raise RuntimeError("TestClient.__exit__ called without __enter__.")
        self._stack = None
        with stack:
            portal.call(lifespan.shutdown)


class AsyncTestClient(_ClientBase, httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose requests are served by an ASGI app, in the test's loop.

    ``async with AsyncTestClient(app) as client:`` runs the lifespan and lets responses
    stream; used without it, each request runs the app to completion. ``timeout``
    bounds every wait for the app (seconds, None to wait forever).
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: CookieTypes = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        server = self._serve(app, raise_server_exceptions, root_path, client, timeout)
        self._stack: AsyncExitStack | None = None
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=AsyncASGITransport(server),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    def websocket_connect(
        self,
        url: str,
        subprotocols: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> AsyncWebSocketTestSession:
        """A websocket session to ``url``; use it with ``async with``."""
        merged = _websocket_headers(subprotocols, headers)
        request = self.build_request("GET", url, headers=merged, **kwargs)
        return AsyncWebSocketTestSession(self._server, request, list(subprotocols or ()))

    async def __aenter__(self) -> AsyncTestClient:
        if self._stack is not None:
            raise RuntimeError("This AsyncTestClient is already entered; it runs one lifespan.")
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        lifespan = Lifespan(self.app, self._server.timeout)
        self._server.state = lifespan.state
        task_group.start_soon(lifespan.run)
        try:
            await lifespan.startup()
        except BaseException:
            await leave(stack, task_group)
            raise
        self._server.task_group = task_group
        self._stack, self._lifespan = stack, lifespan
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        stack, lifespan, task_group = self._stack, self._lifespan, self._server.task_group
        if stack is None or lifespan is None or task_group is None:
            raise RuntimeError("AsyncTestClient.__aexit__ called without __aenter__.")
        self._stack = self._server.task_group = None
        try:
            await lifespan.shutdown()
        finally:
            await leave(stack, task_group)

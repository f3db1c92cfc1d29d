"""The test client: TestClient (sync, over a blocking portal), AsyncTestClient (in the
current loop), their websocket sessions and the exceptions they raise.

The in-process server lives in private modules: ``_transport`` (HTTP requests),
``_channel`` (websocket connections), ``_lifespan`` and ``_task`` (the app as a task).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import (
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    contextmanager,
    nullcontext,
)
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from asgi_core.concurrency import is_async_callable
from asgi_core.status import WS_1006_ABNORMAL_CLOSURE
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_core.websockets import WebSocketDisconnect

from ._channel import Denial, WebSocketChannel
from ._lifespan import Lifespan
from ._task import leave
from ._transport import UPGRADE, AsyncASGITransport, Server, SyncASGITransport, request_timeout

__all__ = [
    "ASGI2App",
    "ASGI3App",
    "ASGIInstance",
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
_Session = TypeVar("_Session", bound="_SessionBase")

# The two generations of the ASGI application interface. ASGI 2 ("double callable"):
# called with the scope, it returns an instance that is called with receive and send.
ASGIInstance = Callable[[Receive, Send], Awaitable[None]]
ASGI2App = Callable[[Scope], ASGIInstance]
ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]


class _ASGI2Adapter:
    """Serves a legacy ASGI 2 application through the ASGI 3 interface."""

    def __init__(self, app: ASGI2App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)


def _asgi3(app: ASGIApp | ASGI2App) -> ASGIApp:
    """``app`` as an ASGI 3 application, adapting a legacy ASGI 2 one.

    A class is an ASGI 3 app when its instances are awaitable (the call is the
    coroutine); anything else is one when calling it returns a coroutine.
    """
    modern = hasattr(app, "__await__") if inspect.isclass(app) else is_async_callable(app)
    if modern:
        return cast(ASGIApp, app)
    return _ASGI2Adapter(cast(ASGI2App, app))


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = {"user-agent": "testclient"}
    merged.update(headers or {})
    return merged


def _handshake(subprotocols: Sequence[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """httpx request arguments for a websocket handshake: the upgrade headers,
    ``subprotocols``, then the test's own ``headers``; the request is marked so that the
    transport answers it without running the app (its session does that)."""
    headers = httpx.Headers(
        {
            "connection": "upgrade",
            "upgrade": "websocket",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
            "sec-websocket-version": "13",
        }
    )
    if subprotocols:
        headers["sec-websocket-protocol"] = ", ".join(subprotocols)
    headers.update(kwargs.pop("headers", None))
    kwargs["headers"] = headers
    kwargs["extensions"] = {**(kwargs.get("extensions") or {}), UPGRADE: True}
    return kwargs


# -- exceptions -----------------------------------------------------------------------------


class WebSocketDenialResponse(httpx.Response, WebSocketDisconnect):  # type: ignore[misc]
    """The app refused a websocket handshake with an HTTP response.

    Raised by ``websocket_connect`` when the app uses the ASGI "websocket.http.response"
    extension. It is an ``httpx.Response`` (``status_code``, ``headers``, ``text``) and a
    ``WebSocketDisconnect``: ``code`` is 1006 (the connection never opened, as a browser
    reports a refused handshake) and ``reason`` the HTTP reason phrase.
    """

    code = WS_1006_ABNORMAL_CLOSURE
    reason = ""

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
    """What the two sessions share: the handshake's scope and its outcome."""

    def __init__(self, scope: Scope) -> None:
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None
        self._raise = True
        self._timeout: float | None = DEFAULT_TIMEOUT
        self._request: httpx.Request | None = None
        self._what = f"websocket {scope.get('path', '/')}"

    def _channel(self, app: ASGIApp, scope: Scope) -> WebSocketChannel:
        """The server side of the connection (call it in the event loop)."""
        return WebSocketChannel(app, scope, self._raise, self._timeout, self._what)

    def _accepted(self, answer: Message | Denial) -> None:
        """Take the app's answer to the handshake; raise if it refused the connection."""
        if isinstance(answer, Denial):
            denial = WebSocketDenialResponse(
                answer.status, headers=answer.headers, content=answer.body, request=self._request
            )
            denial.reason = denial.reason_phrase
            raise denial
        message = _checked(answer)
        self.accepted_subprotocol = message.get("subprotocol")
        headers = message.get("headers")
        if headers is not None:
            self.extra_headers = [(bytes(name), bytes(value)) for name, value in headers]


def _served(session: _Session, server: Server, request: httpx.Request) -> _Session:
    """``session`` set up as the client's: its settings, and the handshake request."""
    session._raise = server.raise_server_exceptions
    session._timeout = request_timeout(request, server.timeout)
    session._request = request
    scheme = "wss" if request.url.scheme in ("https", "wss") else "ws"
    session._what = f"websocket {request.url.copy_with(scheme=scheme)}"
    return session


class WebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used as a context manager in sync tests.

    ``TestClient.websocket_connect`` makes one; the app runs from ``__enter__``.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        portal_factory: Callable[[], AbstractContextManager[BlockingPortal]],
    ) -> None:
        super().__init__(scope)
        self.app = app
        self.scope = scope
        self.portal_factory = portal_factory

    def __enter__(self) -> WebSocketTestSession:
        with ExitStack() as stack:
            portal = stack.enter_context(self.portal_factory())
            channel = portal.call(self._channel, self.app, self.scope)
            portal.start_task_soon(channel.run)
            self._accepted(portal.call(channel.connect))
            self.portal, self._channel_in_use = portal, channel
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._stack:
            self.portal.call(self._channel_in_use.finish, exc_type is not None)

    def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        self.portal.call(self._channel_in_use.send, message)

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
        return self.portal.call(self._channel_in_use.receive)

    def receive_text(self) -> str:
        text: str = _checked(self.receive())["text"]
        return text

    def receive_bytes(self) -> bytes:
        data: bytes = _checked(self.receive())["bytes"]
        return data

    def receive_json(self, mode: _Mode = "text") -> Any:
        return _json_of(_checked(self.receive()), mode)


class AsyncWebSocketTestSession(_SessionBase):
    """A websocket connection to the app, used with ``async with`` in async tests.

    ``AsyncTestClient.websocket_connect`` makes one; ``__aenter__`` sends the handshake
    request through the client (``handshake``), then runs the app.
    """

    def __init__(self, server: Server, handshake: Callable[[], Awaitable[httpx.Response]]) -> None:
        super().__init__({})
        self._server = server
        self._handshake = handshake

    async def __aenter__(self) -> AsyncWebSocketTestSession:
        request = (await self._handshake()).request
        _served(self, self._server, request)
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        channel = self._channel(self._server.app, self._server.websocket_scope(request))
        task_group.start_soon(channel.run)
        try:
            self._accepted(await channel.connect())
        except BaseException:
            await leave(stack, task_group)
            raise
        self._channel_in_use = channel
        self._close = partial(leave, stack, task_group)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._channel_in_use.finish(exc_type is not None)
        finally:
            await self._close()

    async def send(self, message: Message) -> None:
        """Send a raw ASGI message (``websocket.receive`` or ``websocket.disconnect``)."""
        await self._channel_in_use.send(message)

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
        return await self._channel_in_use.receive()

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
        app: ASGIApp | ASGI2App,
        raise_server_exceptions: bool,
        root_path: str,
        client: tuple[str, int],
        timeout: float | None,
    ) -> Server:
        self.app = _asgi3(app)
        self._server = Server(self.app, raise_server_exceptions, root_path, client, timeout)
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
    also runs the app's lifespan and sets ``portal``. ``timeout`` bounds every wait for
    the app (seconds, None to wait forever).
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name
    # The blocking portal of the ``with`` block (None outside it), for the test's own
    # calls into the app's event loop: ``client.portal.call(...)``.
    portal: BlockingPortal | None = None
    task: Future[None]  # the lifespan task, once entered

    def __init__(
        self,
        app: ASGIApp | ASGI2App,
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
        self._asgi_transport = SyncASGITransport(server, self._portal)
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=self._asgi_transport,
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
        if self.portal is not None:
            return nullcontext(self.portal)
        return self._new_portal()

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> WebSocketTestSession:
        """A websocket session to ``url``; use it as a context manager.

        ``kwargs`` are httpx's request arguments (``headers``, ``params``, ``cookies``,
        ``auth``, ``timeout``...), applied to the handshake request.
        """
        request = self.request("GET", url, **_handshake(subprotocols, kwargs)).request
        scope = self._server.websocket_scope(request)
        session = WebSocketTestSession(self.app, scope, self._portal)
        return _served(session, self._server, request)

    def __enter__(self) -> TestClient:
        if self._stack is not None:
            raise RuntimeError("This TestClient is already entered; it runs one lifespan.")
        with ExitStack() as stack:
            portal = stack.enter_context(self._new_portal())
            self._lifespan = portal.call(Lifespan, self.app, self._server.timeout)
            stack.callback(setattr, self, "_lifespan", None)
            self._server.state = self._lifespan.state
            self.task = portal.start_task_soon(self.lifespan)
            portal.call(self.wait_startup)
            self.portal = portal
            stack.callback(setattr, self, "portal", None)
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        stack, portal = self._stack, self.portal
        if stack is None or portal is None:
            raise RuntimeError("TestClient.__exit__ called without __enter__.")
        self._stack = None
        with stack:
            self._asgi_transport.close()  # responses never closed are cancelled
            portal.call(self.wait_shutdown)

    def _running_lifespan(self) -> Lifespan:
        if self._lifespan is None:
            raise RuntimeError(
                "The lifespan runs inside `with TestClient(app) as client:`; enter the client."
            )
        return self._lifespan

    async def lifespan(self) -> None:
        """Run the app's lifespan protocol (the task ``with`` starts in ``portal``)."""
        await self._running_lifespan().run()

    async def wait_startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer (``with`` does this)."""
        await self._running_lifespan().startup()

    async def wait_shutdown(self) -> None:
        """Send ``lifespan.shutdown``, wait for the answer and for the lifespan to end."""
        await self._running_lifespan().shutdown()


class AsyncTestClient(_ClientBase, httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose requests are served by an ASGI app, in the test's loop.

    ``async with AsyncTestClient(app) as client:`` runs the lifespan and lets responses
    stream; used without it, each request runs the app to completion. ``timeout``
    bounds every wait for the app (seconds, None to wait forever).
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp | ASGI2App,
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
        self._asgi_transport = AsyncASGITransport(server)
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=self._asgi_transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    def websocket_connect(
        self,
        url: str,
        subprotocols: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncWebSocketTestSession:
        """A websocket session to ``url``; use it with ``async with``.

        ``kwargs`` are httpx's request arguments, applied to the handshake request
        (sent when the session is entered).
        """
        handshake = partial(self.request, "GET", url, **_handshake(subprotocols, kwargs))
        return AsyncWebSocketTestSession(self._server, handshake)

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
            await self._asgi_transport.aclose()  # responses never closed are cancelled
            await lifespan.shutdown()
        finally:
            await leave(stack, task_group)

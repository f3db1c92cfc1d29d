"""TestClient (sync, over a blocking portal) and AsyncTestClient (in the current loop)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import (
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    contextmanager,
    nullcontext,
)
from types import TracebackType
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from asgi_core.types import ASGIApp

from ._lifespan import Lifespan
from ._task import leave
from ._transport import AsyncASGITransport, Server, SyncASGITransport
from ._websocket import AsyncWebSocketTestSession, WebSocketTestSession

__all__ = ["AsyncTestClient", "TestClient"]

DEFAULT_TIMEOUT = 30.0
CookieTypes = httpx.Cookies | dict[str, str] | list[tuple[str, str]] | None


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


class TestClient(httpx.Client):
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
        self.app = app
        self.async_backend: dict[str, Any] = {
            "backend": backend,
            "backend_options": backend_options or {},
        }
        self._server = Server(app, raise_server_exceptions, root_path, client, timeout)
        self._stack: ExitStack | None = None
        self._lifespan: Lifespan | None = None
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=SyncASGITransport(self._server, self._portal),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    @property
    def app_state(self) -> dict[str, Any]:
        """The lifespan state the app filled at startup (shallow-copied into requests)."""
        return self._server.state

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


class AsyncTestClient(httpx.AsyncClient):
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
        self.app = app
        self._server = Server(app, raise_server_exceptions, root_path, client, timeout)
        self._stack: AsyncExitStack | None = None
        self._lifespan: Lifespan | None = None
        super().__init__(
            base_url=base_url,
            headers=_headers(headers),
            transport=AsyncASGITransport(self._server),
            follow_redirects=follow_redirects,
            cookies=cookies,
            timeout=timeout,
        )

    @property
    def app_state(self) -> dict[str, Any]:
        """The lifespan state the app filled at startup (shallow-copied into requests)."""
        return self._server.state

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

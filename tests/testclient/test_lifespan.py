"""`with TestClient(app)` runs the lifespan protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from asgi_driver import Boom

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_testkit import TestClient


def lifespan_app(
    on_startup: Callable[[Receive, Send], Any] | None = None,
    on_shutdown: Callable[[Receive, Send], Any] | None = None,
    events: list[str] | None = None,
) -> ASGIApp:
    """A raw app whose lifespan records events and fills the state; HTTP echoes state."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            assert message["type"] == "lifespan.startup"
            if on_startup is not None:
                await on_startup(receive, send)
                return
            scope["state"]["db"] = "connected"
            scope["state"]["items"] = []
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
            if events is not None:
                events.append("shutdown")
            if on_shutdown is not None:
                await on_shutdown(receive, send)
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
        scope["state"]["items"].append(scope["path"])
        scope["state"]["scratch"] = scope["path"]
        body = f"{scope['state']['db']} {sorted(scope['state'])} {scope['state']['items']}"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body.encode()})

    return app


def test_startup_state_and_shutdown(anyio_backend: str) -> None:
    events: list[str] = []
    with TestClient(lifespan_app(events=events), backend=anyio_backend) as client:
        assert client.app_state["db"] == "connected"
        # The state is shallow-copied into each request: new keys do not leak, but
        # mutable values are shared.
        assert client.get("/a").text == "connected ['db', 'items', 'scratch'] ['/a']"
        assert client.get("/b").text == "connected ['db', 'items', 'scratch'] ['/a', '/b']"
        assert "scratch" not in client.app_state
        assert events == []
    assert events == ["shutdown"]
    # The client can be entered again.
    with TestClient(lifespan_app(), backend=anyio_backend) as client:
        assert client.get("/c").status_code == 200


def test_startup_failed_message(anyio_backend: str) -> None:
    async def fail(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    client = TestClient(lifespan_app(on_startup=fail), backend=anyio_backend)
    with pytest.raises(RuntimeError, match="Lifespan startup failed: no database"), client:
        pass


def test_startup_failed_with_exception(anyio_backend: str) -> None:
    async def fail(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.failed", "message": "Boom"})
        raise Boom("database down")

    client = TestClient(lifespan_app(on_startup=fail), backend=anyio_backend)
    with pytest.raises(Boom, match="database down"), client:
        pass


def test_startup_crash_is_raised(anyio_backend: str) -> None:
    async def crash(receive: Receive, send: Send) -> None:
        raise Boom("crashed in startup")

    client = TestClient(lifespan_app(on_startup=crash), backend=anyio_backend)
    with pytest.raises(Boom, match="crashed in startup"), client:
        pass


def test_apps_that_return_without_lifespan_support_are_tolerated(anyio_backend: str) -> None:
    async def ignores(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    with TestClient(ignores, backend=anyio_backend) as client:
        assert client.get("/").status_code == 204


def test_an_error_raised_before_reading_startup_is_raised(anyio_backend: str) -> None:
    """A middleware failing on the lifespan scope, before the app reads a message."""

    def failing_middleware(inner: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                raise Boom("middleware could not start")
            await inner(scope, receive, send)

        return middleware

    client = TestClient(failing_middleware(lifespan_app()), backend=anyio_backend)
    with pytest.raises(Boom, match="middleware could not start"), client:
        pass
    assert client.portal is None


def test_lifespan_that_returns_after_startup(anyio_backend: str) -> None:
    async def done(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.complete"})

    with TestClient(lifespan_app(on_startup=done), backend=anyio_backend):
        pass


def test_lifespan_that_crashes_after_startup(anyio_backend: str) -> None:
    async def crash_later(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.complete"})
        raise Boom("after startup")

    client = TestClient(lifespan_app(on_startup=crash_later), backend=anyio_backend)
    with pytest.raises(Boom, match="after startup"), client:
        pass


@pytest.mark.parametrize(
    ("on_shutdown", "error", "match"),
    [
        ("failed", RuntimeError, "Lifespan shutdown failed: disk full"),
        ("failed-raise", Boom, "shutdown broke"),
        ("crash", Boom, "shutdown broke"),
        ("complete-raise", Boom, "shutdown broke"),
    ],
)
def test_shutdown_failures(
    anyio_backend: str, on_shutdown: str, error: type[Exception], match: str
) -> None:
    async def shutdown(receive: Receive, send: Send) -> None:
        if on_shutdown.startswith("failed"):
            await send({"type": "lifespan.shutdown.failed", "message": "disk full"})
        if on_shutdown.startswith("complete"):
            await send({"type": "lifespan.shutdown.complete"})
        if on_shutdown.endswith(("raise", "crash")):
            raise Boom("shutdown broke")

    client = TestClient(lifespan_app(on_shutdown=shutdown), backend=anyio_backend)
    with pytest.raises(error, match=match), client:
        pass


def test_unexpected_lifespan_message(anyio_backend: str) -> None:
    async def odd(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.shutdown.complete"})
        await anyio.sleep_forever()

    client = TestClient(lifespan_app(on_startup=odd), backend=anyio_backend)
    with (
        pytest.raises(
            RuntimeError, match=r"'lifespan\.shutdown\.complete' during lifespan startup"
        ),
        client,
    ):
        pass


def test_lifespan_timeouts(anyio_backend: str) -> None:
    async def hang(receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    async def never_returns(receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.shutdown.complete"})
        await anyio.sleep_forever()

    client = TestClient(lifespan_app(on_startup=hang), backend=anyio_backend, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"lifespan startup within 0\.05 s"), client:
        pass
    client = TestClient(lifespan_app(on_shutdown=never_returns), backend=anyio_backend, timeout=0.5)
    with pytest.raises(TimeoutError, match=r"did not return within 0\.5 s after shutdown"), client:
        pass


def test_open_streams_are_cancelled_when_the_client_exits(anyio_backend: str) -> None:
    cancelled: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
            await anyio.sleep_forever()
        finally:
            cancelled.append(True)

    with TestClient(app, backend=anyio_backend) as client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert response.status_code == 200
    assert cancelled == [True]


def test_enter_twice(anyio_backend: str) -> None:
    with TestClient(lifespan_app(), backend=anyio_backend) as client:
        with pytest.raises(RuntimeError, match="already entered"):
            client.__enter__()
        assert client.get("/").status_code == 200


def test_exit_without_enter(anyio_backend: str) -> None:
    with pytest.raises(RuntimeError, match="without __enter__"):
        TestClient(lifespan_app(), backend=anyio_backend).__exit__()


def test_messages_reach_the_app_in_order(anyio_backend: str) -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message)
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return

    with TestClient(app, backend=anyio_backend):
        pass
    assert seen == [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

"""The clients close every stream they open: no ResourceWarning, whatever the outcome."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from asgi_driver import Boom

from asgi_core.types import Receive, Scope, Send
from asgi_testkit import AsyncTestClient, TestClient, WebSocketDisconnect


@contextmanager
def no_resource_warnings() -> Iterator[None]:
    """Fail if anything created inside the block is left unclosed once collected."""
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    leaks = [str(item.message) for item in caught if item.category is ResourceWarning]
    assert leaks == []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Lifespan supported; HTTP answers 'ok'; websockets accept and echo once."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message.get("text", "")})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def failing_startup(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})


async def endless(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while True:
        await send({"type": "http.response.body", "body": b".", "more_body": True})
        await anyio.sleep(0.001)


async def refuses(scope: Scope, receive: Receive, send: Send) -> None:
    raise Boom("no websocket here")


async def silent_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await anyio.sleep_forever()


def sync_lifespan_requests_and_websocket(backend: str) -> None:
    with TestClient(app, backend=backend) as client:
        assert client.get("/").text == "ok"
        with client.websocket_connect("/ws") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "hi"


def sync_requests_without_lifespan(backend: str) -> None:
    client = TestClient(app, backend=backend)
    assert client.get("/").text == "ok"
    with client.stream("GET", "/") as response:
        assert response.read() == b"ok"


def sync_stream_left_open_at_exit(backend: str) -> None:
    with TestClient(endless, backend=backend) as client:
        response = client.send(client.build_request("GET", "/"), stream=True)
        assert response.status_code == 200


def sync_startup_failure(backend: str) -> None:
    with (
        pytest.raises(RuntimeError, match="no database"),
        TestClient(failing_startup, backend=backend),
    ):
        raise AssertionError("not reached")


def sync_websocket_failures(backend: str) -> None:
    client = TestClient(refuses, backend=backend)
    with pytest.raises(Boom), client.websocket_connect("/ws"):
        raise AssertionError("not reached")
    client = TestClient(silent_websocket, backend=backend, timeout=0.05)
    with client.websocket_connect("/ws") as ws, pytest.raises(TimeoutError):
        ws.receive()
    client = TestClient(app, backend=backend)
    with client.websocket_connect("/ws") as ws:
        ws.close()

    def fail_after_the_app_returned() -> None:
        with client.websocket_connect("/ws") as ws:
            ws.send({"type": "websocket.disconnect", "code": 1000})
            ws.send_text("after close")
            raise WebSocketDisconnect(1000)

    with pytest.raises(WebSocketDisconnect):
        fail_after_the_app_returned()


SYNC_SCENARIOS: list[Callable[[str], None]] = [
    sync_lifespan_requests_and_websocket,
    sync_requests_without_lifespan,
    sync_stream_left_open_at_exit,
    sync_startup_failure,
    sync_websocket_failures,
]


@pytest.mark.parametrize("scenario", SYNC_SCENARIOS, ids=lambda item: item.__name__)
def test_sync_client_leaves_no_stream_open(
    anyio_backend: str, scenario: Callable[[str], None]
) -> None:
    with no_resource_warnings():
        scenario(anyio_backend)


@pytest.mark.anyio
async def test_async_client_leaves_no_stream_open() -> None:
    with no_resource_warnings():
        async with AsyncTestClient(app) as client:
            assert (await client.get("/")).text == "ok"
            async with client.websocket_connect("/ws") as ws:
                await ws.send_text("hi")
                assert await ws.receive_text() == "hi"
        assert (await AsyncTestClient(app).get("/")).text == "ok"
        with pytest.raises(TimeoutError, match="enter the client to stream"):
            await AsyncTestClient(endless, timeout=0.05).get("/")
        with pytest.raises(RuntimeError, match="no database"):
            async with AsyncTestClient(failing_startup):
                raise AssertionError("not reached")
        with pytest.raises(Boom):
            async with AsyncTestClient(refuses).websocket_connect("/ws"):
                raise AssertionError("not reached")


@pytest.mark.anyio
async def test_a_stream_left_open_when_the_async_client_exits_ends_cleanly() -> None:
    with no_resource_warnings():
        async with AsyncTestClient(endless) as client:
            response = await client.send(client.build_request("GET", "/"), stream=True)
            assert response.status_code == 200
        # The app was cancelled with the client: reading on reports an incomplete response.
        with pytest.raises(RuntimeError, match="returned before completing the response"):
            await response.aread()
        await response.aclose()


def test_leaks_would_be_seen() -> None:
    def leak() -> None:
        send, _receive = anyio.create_memory_object_stream[Any](1)
        send.close()

    with pytest.raises(AssertionError, match="Unclosed"), no_resource_warnings():
        leak()

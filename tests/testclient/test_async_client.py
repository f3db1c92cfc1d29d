"""AsyncTestClient: the same features in the test's own event loop (asyncio and trio)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest
from asgi_driver import Boom

from asgi_core.types import Message, Receive, Scope, Send
from asgi_testkit import (
    AsyncTestClient,
    AsyncWebSocketTestSession,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)

pytestmark = pytest.mark.anyio


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Lifespan fills the state; HTTP echoes body, state and path; websocket echoes."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["name"] = "app"
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "chat"})
        while (message := await receive())["type"] != "websocket.disconnect":
            reply = {k: message[k] for k in ("text", "bytes") if message.get(k) is not None}
            await send({"type": "websocket.send", **reply})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message["body"]
        more = message["more_body"]
    if scope["path"] == "/crash":
        raise Boom("async crash")
    if scope["path"] == "/set":
        headers = [(b"set-cookie", b"flavour=mint; Path=/")]
    else:
        headers = [(b"content-type", b"application/json")]
    payload = {
        "body": body.decode(),
        "state": scope["state"],
        "path": scope["path"],
        "cookie": dict(scope["headers"]).get(b"cookie", b"").decode(),
    }
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


async def test_requests_without_entering() -> None:
    client = AsyncTestClient(app, root_path="/root")
    response = await client.post("/echo", content=b"hi")
    assert response.json() == {"body": "hi", "state": {}, "path": "/echo", "cookie": ""}
    client = AsyncTestClient(app)
    await client.get("/set")
    assert (await client.get("/")).json()["cookie"] == "flavour=mint"
    with pytest.raises(Boom):
        await client.get("/crash")
    client = AsyncTestClient(app, raise_server_exceptions=False)
    assert (await client.get("/crash")).status_code == 500


async def test_lifespan_and_streamed_request_body() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    async with AsyncTestClient(app, headers={"x": "y"}) as client:
        assert client.app_state == {"name": "app"}
        response = await client.put("/", content=chunks())
        assert response.json()["body"] == "ab"
        assert response.json()["state"] == {"name": "app"}
        with pytest.raises(Boom):
            await client.get("/crash")
    # A second block runs the lifespan again.
    async with client:
        assert (await client.get("/")).status_code == 200


async def test_response_streams_incrementally_inside_the_client() -> None:
    first_read = anyio.Event()

    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await first_read.wait()
        await send({"type": "http.response.body", "body": b"two"})

    async with (
        AsyncTestClient(streaming, timeout=10) as client,
        client.stream("GET", "/") as response,
    ):
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"one"
        first_read.set()
        assert [chunk async for chunk in chunks] == [b"two"]


async def test_failures_inside_the_client() -> None:
    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await anyio.sleep_forever()

    async with AsyncTestClient(slow, timeout=0.5) as client:
        with pytest.raises(TimeoutError, match="GET http://testserver/late"):
            await client.get("/late")


async def test_buffered_requests_time_out_as_a_whole() -> None:
    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b".", "more_body": True})
            await anyio.sleep(0.001)

    client = AsyncTestClient(endless, timeout=0.05)
    with pytest.raises(TimeoutError, match="enter the client to stream"):
        await client.get("/sse")


async def test_trailers_in_a_buffered_response() -> None:
    async def trailing(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        await send({"type": "http.response.trailers", "headers": [(b"digest", b"abc")]})

    response = await AsyncTestClient(trailing).get("/")
    assert response.extensions["http.response.trailers"] == [(b"digest", b"abc")]


async def test_lifespan_startup_failure() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no cache"})

    client = AsyncTestClient(failing)
    with pytest.raises(RuntimeError, match="no cache"):
        async with client:
            pass


async def test_aenter_twice() -> None:
    async with AsyncTestClient(app) as client:
        with pytest.raises(RuntimeError, match="already entered"):
            await client.__aenter__()
        assert (await client.get("/")).status_code == 200


async def test_aexit_without_aenter() -> None:
    with pytest.raises(RuntimeError, match="without __aenter__"):
        await AsyncTestClient(app).__aexit__()


async def test_websocket_session() -> None:
    async with AsyncTestClient(app) as client:
        session = client.websocket_connect("/ws", subprotocols=["chat"])
        assert isinstance(session, AsyncWebSocketTestSession)
        async with session as ws:
            assert ws.accepted_subprotocol == "chat"
            assert ws.extra_headers is None  # the accept message carried no headers
            await ws.send_text("t")
            assert await ws.receive_text() == "t"
            await ws.send_bytes(b"b")
            assert await ws.receive_bytes() == b"b"
            await ws.send_json({"k": "v"})
            assert await ws.receive_json() == {"k": "v"}
            await ws.send_json([1], mode="binary")
            message: Message = await ws.receive()
            assert message == {"type": "websocket.send", "bytes": b"[1]"}
            await ws.close(code=1001)


async def receive_until_closed(client: AsyncTestClient) -> None:
    async with client.websocket_connect("/accept") as ws:
        with pytest.raises(WebSocketDisconnect):
            await ws.receive_text()


async def fail_inside_the_client() -> None:
    async with AsyncTestClient(app) as client:
        await client.get("/")
        raise AssertionError("plain failure")


async def test_errors_in_the_test_body_are_not_wrapped() -> None:
    with pytest.raises(AssertionError, match="plain failure"):
        await fail_inside_the_client()


async def test_websocket_refusals_and_errors() -> None:
    async def refusing(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if scope["path"] == "/deny":
            await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
            await send({"type": "websocket.http.response.body", "body": b"nope"})
        elif scope["path"] == "/close":
            await send({"type": "websocket.close", "code": 4004, "reason": "gone"})
        else:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4000})
            await receive()
            raise Boom("after close")

    client = AsyncTestClient(refusing)
    with pytest.raises(WebSocketDenialResponse) as denial:
        async with client.websocket_connect("/deny"):
            pass
    assert (denial.value.status_code, denial.value.text) == (404, "nope")
    with pytest.raises(WebSocketDisconnect) as closed:
        async with client.websocket_connect("/close"):
            pass
    assert (closed.value.code, closed.value.reason) == (4004, "gone")
    with pytest.raises(Boom):
        await receive_until_closed(client)
    with pytest.raises(KeyError):
        async with client.websocket_connect("/accept"):
            raise KeyError("the test failed")

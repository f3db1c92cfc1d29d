"""TestClient.websocket_connect: handshake, messages, close, denial, errors, timeouts."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from asgi_driver import Boom

from asgi_core.types import Message, Receive, Scope, Send
from asgi_testkit import TestClient, WebSocketDenialResponse, WebSocketDisconnect


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, then echo every message back until the client disconnects."""
    assert (await receive())["type"] == "websocket.connect"
    headers = [(b"x-scope", json.dumps(_scope_summary(scope)).encode())]
    subprotocol = scope["subprotocols"][0] if scope["subprotocols"] else None
    await send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        reply = {key: message[key] for key in ("text", "bytes") if message.get(key) is not None}
        await send({"type": "websocket.send", **reply})


def _scope_summary(scope: Scope) -> dict[str, Any]:
    return {
        "type": scope["type"],
        "scheme": scope["scheme"],
        "path": scope["path"],
        "query_string": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "extensions": scope["extensions"],
        "has_method": "method" in scope,
        "subprotocols": scope["subprotocols"],
    }


def test_handshake_and_scope(anyio_backend: str) -> None:
    client = TestClient(echo, backend=anyio_backend, cookies={"c": "1"})
    with client.websocket_connect(
        "/chat?room=1", subprotocols=["v2", "v1"], headers={"x-token": "t"}
    ) as ws:
        assert ws.accepted_subprotocol == "v2"
        name, value = ws.extra_headers[0]
        assert name == b"x-scope"
        scope = json.loads(value)
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "ws"
    assert scope["path"] == "/chat"
    assert scope["query_string"] == "room=1"
    assert scope["subprotocols"] == ["v2", "v1"]
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert not scope["has_method"]
    headers = scope["headers"]
    assert headers["sec-websocket-protocol"] == "v2, v1"
    assert headers["upgrade"] == "websocket"
    assert headers["sec-websocket-version"] == "13"
    assert headers["x-token"] == "t"
    assert headers["cookie"] == "c=1"


def test_secure_scheme_and_no_subprotocol(anyio_backend: str) -> None:
    client = TestClient(echo, base_url="https://testserver", backend=anyio_backend)
    with client.websocket_connect("/") as ws:
        assert ws.accepted_subprotocol is None
        scope = json.loads(ws.extra_headers[0][1])
    assert scope["scheme"] == "wss"
    assert "sec-websocket-protocol" not in scope["headers"]
    with client.websocket_connect("ws://testserver/plain") as ws:
        scope = json.loads(ws.extra_headers[0][1])
    assert scope["scheme"] == "ws"
    with client.websocket_connect("wss://testserver/plain") as ws:
        scope = json.loads(ws.extra_headers[0][1])
    assert scope["scheme"] == "wss"


def test_messages_both_ways(anyio_backend: str) -> None:
    client = TestClient(echo, backend=anyio_backend)
    with client.websocket_connect("/") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_bytes() == b"\x00\x01"
        ws.send_json({"é": [1, 2]})
        assert ws.receive() == {"type": "websocket.send", "text": '{"é":[1,2]}'}
        ws.send_json({"a": 1}, mode="binary")
        assert ws.receive_json(mode="binary") == {"a": 1}
        ws.send_json([True])
        assert ws.receive_json() == [True]
        with pytest.raises(ValueError, match="mode"):
            ws.send_json({}, mode="xml")  # type: ignore[arg-type]
        ws.send_text("{}")
        with pytest.raises(ValueError, match="mode"):
            ws.receive_json(mode="xml")  # type: ignore[arg-type]


def test_client_close_reaches_the_app(anyio_backend: str) -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())

    client = TestClient(app, backend=anyio_backend)
    with client.websocket_connect("/") as ws:
        ws.close(code=4001, reason="bye")
    assert seen == [{"type": "websocket.disconnect", "code": 4001, "reason": "bye"}]
    seen.clear()
    with client.websocket_connect("/"):
        pass
    assert seen == [{"type": "websocket.disconnect", "code": 1000, "reason": ""}]


def test_app_close_raises_on_receive(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4002, "reason": "done"})

    client = TestClient(app, backend=anyio_backend)
    with client.websocket_connect("/") as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_text()
    assert (info.value.code, info.value.reason) == (4002, "done")


def test_close_before_accept_rejects(anyio_backend: str) -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        seen.append(await receive())
        if scope["path"] == "/crash":
            raise Boom("after the refusal")

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/"):
        pass
    assert info.value.code == 1008
    # The app is told the connection is gone and may finish its work.
    assert seen == [{"type": "websocket.disconnect", "code": 1008, "reason": ""}]
    with pytest.raises(Boom), client.websocket_connect("/crash"):
        pass


def test_denial_response(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"log ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"in"})

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/"):
        pass
    denial = info.value
    assert isinstance(denial, Exception)
    assert denial.status_code == 401
    assert denial.headers["content-type"] == "text/plain"
    assert denial.text == "log in"
    assert str(denial) == "The app denied the websocket connection with HTTP 401"
    assert denial.request.url == "http://testserver/"


async def denial_then_crash(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"part", "more_body": True})
    raise Boom("mid denial")


def test_denial_interrupted_by_an_error(anyio_backend: str) -> None:
    client = TestClient(denial_then_crash, backend=anyio_backend)
    with pytest.raises(Boom), client.websocket_connect("/"):
        pass
    client = TestClient(denial_then_crash, backend=anyio_backend, raise_server_exceptions=False)
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/"):
        pass
    assert (info.value.status_code, info.value.content) == (403, b"part")


async def crash_before_accept(scope: Scope, receive: Receive, send: Send) -> None:
    raise Boom("before accept")


async def return_before_accept(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()


def test_app_failing_before_accept(anyio_backend: str) -> None:
    client = TestClient(crash_before_accept, backend=anyio_backend)
    with pytest.raises(Boom), client.websocket_connect("/"):
        pass
    for app, raise_server_exceptions in [
        (crash_before_accept, False),
        (return_before_accept, True),
    ]:
        client = TestClient(
            app, backend=anyio_backend, raise_server_exceptions=raise_server_exceptions
        )
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/"):
            pass
        assert info.value.status_code == 500
        assert info.value.text == "Internal Server Error"


def test_app_ending_after_accept(anyio_backend: str) -> None:
    async def crash(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        raise Boom("after accept")

    async def leave(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    client = TestClient(crash, backend=anyio_backend)
    with pytest.raises(Boom), client.websocket_connect("/") as ws:
        ws.receive()
    client = TestClient(crash, backend=anyio_backend, raise_server_exceptions=False)
    with client.websocket_connect("/") as ws:
        assert ws.receive() == {"type": "websocket.close", "code": 1011, "reason": ""}
    client = TestClient(leave, backend=anyio_backend)
    with client.websocket_connect("/") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
        assert info.value.code == 1000


def test_error_raised_when_leaving_the_session(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise Boom("on disconnect")

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(Boom), client.websocket_connect("/"):
        pass


def test_failure_in_the_test_cancels_the_app(anyio_backend: str) -> None:
    cancelled: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append(True)

    client = TestClient(app, backend=anyio_backend)
    with pytest.raises(KeyError), client.websocket_connect("/"):
        raise KeyError("test failed")
    assert cancelled == [True]


def test_protocol_violation(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    client = TestClient(app, backend=anyio_backend)
    with (
        pytest.raises(
            RuntimeError, match=r"'websocket\.send' on a websocket in state 'connecting'"
        ),
        client.websocket_connect("/"),
    ):
        pass


def test_receive_timeout(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await anyio.sleep_forever()

    client = TestClient(app, backend=anyio_backend, timeout=0.5)
    with client.websocket_connect("/ws") as ws, pytest.raises(TimeoutError, match="/ws"):
        ws.receive()


def test_connect_timeout_and_disconnect_timeout(anyio_backend: str) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep_forever()

    async def deaf(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await anyio.sleep_forever()

    client = TestClient(silent, backend=anyio_backend, timeout=0.05)
    with (
        pytest.raises(TimeoutError, match="websocket ws://testserver/"),
        client.websocket_connect("/"),
    ):
        pass
    client = TestClient(deaf, backend=anyio_backend, timeout=0.5)
    with (
        pytest.raises(TimeoutError, match="the disconnect of websocket ws://testserver/"),
        client.websocket_connect("/"),
    ):
        pass


def test_sessions_share_the_client_portal(anyio_backend: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # no lifespan support
        await echo(scope, receive, send)

    with (
        TestClient(app, backend=anyio_backend) as client,
        client.websocket_connect("/a") as first,
        client.websocket_connect("/b") as second,
    ):
        first.send_text("1")
        second.send_text("2")
        assert second.receive_text() == "2"
        assert first.receive_text() == "1"

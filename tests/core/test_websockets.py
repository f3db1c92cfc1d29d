from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from asgi_driver import websocket_scope

from asgi_core.datastructures import State
from asgi_core.exceptions import WebSocketException
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import HTTPConnection
from asgi_core.types import Message, Receive, Scope, Send
from asgi_core.websockets import (
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

pytestmark = pytest.mark.anyio

CONNECT: Message = {"type": "websocket.connect"}
DENIAL = {"websocket.http.response": {}}


class Peer:
    """The server side: queued client messages in, application messages recorded."""

    def __init__(self, *incoming: Message) -> None:
        self.incoming = list(incoming)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        assert self.incoming, "the application received more messages than the client sent"
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def make_scope(extensions: Any = DENIAL, query_string: bytes = b"") -> Scope:
    return websocket_scope(
        "/ws",
        [("host", "example.com")],
        server=("example.com", 80),
        client=("127.0.0.1", 5000),
        subprotocols=["chat"],
        extensions=extensions,
        query_string=query_string,
    )


def connect(*incoming: Message, extensions: Any = DENIAL) -> tuple[WebSocket, Peer]:
    peer = Peer(*incoming)
    return WebSocket(make_scope(extensions), peer.receive, peer.send), peer


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int = 1000, reason: str | None = None) -> Message:
    message: Message = {"type": "websocket.disconnect", "code": code}
    if reason is not None:
        message["reason"] = reason
    return message


async def accepted(*incoming: Message, extensions: Any = DENIAL) -> tuple[WebSocket, Peer]:
    ws, peer = connect(CONNECT, *incoming, extensions=extensions)
    await ws.accept()
    peer.sent.clear()
    return ws, peer


# Handshake and messages


async def test_full_session() -> None:
    ws, peer = connect(
        CONNECT,
        text("hello"),
        binary(b"\x00\x01"),
        text('{"a": [1, 2]}'),
        binary('{"é": true}'.encode()),
        disconnect(1001, "bye"),
    )
    assert isinstance(ws, HTTPConnection)
    assert ws.client_state is WebSocketState.CONNECTING
    assert ws.application_state is WebSocketState.CONNECTING
    assert ws.url.path == "/ws"
    assert ws["subprotocols"] == ["chat"]

    await ws.accept(subprotocol="chat", headers=[(b"x-token", b"abc")])
    assert ws.client_state is WebSocketState.CONNECTED
    assert ws.application_state is WebSocketState.CONNECTED
    assert peer.sent == [
        {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-token", b"abc")]}
    ]

    assert await ws.receive_text() == "hello"
    assert await ws.receive_bytes() == b"\x00\x01"
    assert await ws.receive_json() == {"a": [1, 2]}
    assert await ws.receive_json(mode="binary") == {"é": True}

    await ws.send_text("out")
    await ws.send_bytes(b"\xff")
    await ws.send_json({"b": "é", "n": [1, None]})
    await ws.send_json([1, 2], mode="binary")
    assert peer.sent[1:] == [
        {"type": "websocket.send", "text": "out"},
        {"type": "websocket.send", "bytes": b"\xff"},
        {"type": "websocket.send", "text": '{"b":"é","n":[1,null]}'},
        {"type": "websocket.send", "bytes": b"[1,2]"},
    ]

    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_text()
    assert info.value.code == 1001
    assert info.value.reason == "bye"
    assert ws.client_state is WebSocketState.DISCONNECTED

    await ws.close(code=1000, reason="done")
    assert peer.sent[-1] == {"type": "websocket.close", "code": 1000, "reason": "done"}
    assert ws.application_state is WebSocketState.DISCONNECTED


async def test_accept_defaults() -> None:
    ws, peer = connect(CONNECT)
    await ws.accept()
    assert peer.sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]


async def test_accept_after_manual_connect_receive_does_not_receive_again() -> None:
    ws, peer = connect(CONNECT)
    assert await ws.receive() == CONNECT
    await ws.accept(headers=iter([(b"a", b"b")]))
    assert peer.incoming == []
    assert peer.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"a", b"b")]}
    ]


async def test_accept_when_client_left_before_handshake() -> None:
    ws, peer = connect(disconnect(1006))
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.accept()
    assert info.value.code == 1006
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert peer.sent == []


async def test_disconnect_message_without_code_defaults_to_1000() -> None:
    ws, _ = await accepted({"type": "websocket.disconnect"})
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_bytes()
    assert info.value.code == 1000
    assert info.value.reason == ""


async def test_raw_receive_returns_messages_including_disconnect() -> None:
    ws, _ = await accepted(text("a"), disconnect(1000))
    assert await ws.receive() == text("a")
    assert await ws.receive() == disconnect(1000)
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_receive_after_app_close_drains_client_messages() -> None:
    ws, peer = await accepted(text("late"), disconnect())
    await ws.close()
    assert await ws.receive() == text("late")
    assert (await ws.receive())["type"] == "websocket.disconnect"
    assert peer.sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


# Iterators


async def test_iter_text_stops_on_disconnect() -> None:
    ws, _ = await accepted(text("a"), text("b"), disconnect(1001))
    assert [item async for item in ws.iter_text()] == ["a", "b"]
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_iter_bytes_stops_on_disconnect() -> None:
    ws, _ = await accepted(binary(b"a"), binary(b""), disconnect())
    assert [item async for item in ws.iter_bytes()] == [b"a", b""]


async def test_iter_json_stops_on_disconnect() -> None:
    ws, _ = await accepted(text("1"), text('{"x": null}'), disconnect())
    assert [item async for item in ws.iter_json()] == [1, {"x": None}]


async def test_iter_text_on_binary_frame_raises() -> None:
    ws, _ = await accepted(binary(b"a"))
    with pytest.raises(WebSocketException) as info:
        async for _ in ws.iter_text():
            pass
    assert info.value.code == 1003


# Client data of the wrong kind


async def test_receive_text_on_binary_frame() -> None:
    ws, _ = await accepted({"type": "websocket.receive", "bytes": b"x", "text": None})
    with pytest.raises(WebSocketException) as info:
        await ws.receive_text()
    assert info.value.code == 1003
    assert "text" in info.value.reason


async def test_receive_bytes_on_text_frame() -> None:
    ws, _ = await accepted(text("x"))
    with pytest.raises(WebSocketException) as info:
        await ws.receive_bytes()
    assert info.value.code == 1003
    assert "binary" in info.value.reason


@pytest.mark.parametrize("payload", ["{", "not json", "", "[1,]"])
async def test_receive_json_invalid_text(payload: str) -> None:
    ws, _ = await accepted(text(payload))
    with pytest.raises(WebSocketException, match="Invalid JSON") as info:
        await ws.receive_json()
    assert info.value.code == 1007
    assert len(info.value.reason.encode()) <= 123


async def test_receive_json_invalid_utf8_binary() -> None:
    ws, _ = await accepted(binary(b'"\xff"'))
    with pytest.raises(WebSocketException) as info:
        await ws.receive_json(mode="binary")
    assert info.value.code == 1007
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


async def test_receive_json_too_deeply_nested() -> None:
    ws, _ = await accepted(text("[" * 200_000 + "]" * 200_000))
    with pytest.raises(WebSocketException) as info:
        await ws.receive_json()
    assert info.value.code == 1007


async def test_json_mode_must_be_text_or_binary() -> None:
    ws, peer = await accepted(text("1"))
    with pytest.raises(ValueError, match='"mode"'):
        await ws.receive_json(mode="json")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='"mode"'):
        await ws.send_json(1, mode="bytes")  # type: ignore[arg-type]
    assert peer.incoming == [text("1")]
    assert peer.sent == []


# Misuse: application side


async def test_send_before_accept() -> None:
    ws, peer = connect(CONNECT)
    with pytest.raises(RuntimeError, match='call "accept" first'):
        await ws.send_text("too early")
    assert peer.sent == []


@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_json"])
async def test_typed_receive_before_accept(method: str) -> None:
    ws, peer = connect(CONNECT, text("x"))
    with pytest.raises(RuntimeError, match='call "accept" first'):
        await getattr(ws, method)()
    assert len(peer.incoming) == 2


async def test_double_accept() -> None:
    ws, _ = await accepted()
    with pytest.raises(RuntimeError, match="only once"):
        await ws.accept()


async def test_send_after_close() -> None:
    ws, peer = await accepted()
    await ws.close()
    with pytest.raises(RuntimeError, match="closed"):
        await ws.send_text("x")
    with pytest.raises(RuntimeError, match="closed"):
        await ws.close()
    assert len(peer.sent) == 1


async def test_typed_receive_after_close() -> None:
    ws, _ = await accepted(text("x"))
    await ws.close()
    with pytest.raises(RuntimeError, match='call "accept" first'):
        await ws.receive_text()


async def test_unexpected_message_while_connecting() -> None:
    ws, _ = connect(CONNECT)
    with pytest.raises(RuntimeError, match=r"'websocket\.bogus'"):
        await ws.send({"type": "websocket.bogus"})
    assert ws.application_state is WebSocketState.CONNECTING


async def test_unexpected_message_while_connected() -> None:
    ws, _ = await accepted()
    with pytest.raises(RuntimeError, match=r"'websocket\.http\.response\.start'"):
        await ws.send({"type": "websocket.http.response.start", "status": 403})


async def test_close_before_accept_rejects_handshake() -> None:
    ws, peer = connect(CONNECT)
    await ws.close(code=1008, reason="no token")
    assert peer.sent == [{"type": "websocket.close", "code": 1008, "reason": "no token"}]
    assert ws.application_state is WebSocketState.DISCONNECTED
    with pytest.raises(RuntimeError, match="closed"):
        await ws.accept()


async def test_send_on_closed_connection_raises_disconnect() -> None:
    class Gone(OSError):
        pass

    async def broken_send(message: Message) -> None:
        raise Gone

    peer = Peer(CONNECT)
    ws = WebSocket(make_scope(), peer.receive, broken_send)
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.accept()
    assert info.value.code == 1006
    assert ws.application_state is WebSocketState.DISCONNECTED


# Misuse: client side (protocol errors from the server)


async def test_receive_after_disconnect() -> None:
    ws, _ = await accepted(disconnect())
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    with pytest.raises(RuntimeError, match="disconnect message has been received"):
        await ws.receive()
    with pytest.raises(RuntimeError, match="disconnect message has been received"):
        await ws.receive_text()


async def test_unexpected_first_client_message() -> None:
    ws, _ = connect(text("no connect"))
    with pytest.raises(RuntimeError, match=r"websocket\.connect.*'websocket\.receive'"):
        await ws.accept()


async def test_unexpected_client_message_after_connect() -> None:
    ws, _ = await accepted({"type": "http.request"})
    with pytest.raises(RuntimeError, match=r"websocket\.receive.*'http\.request'"):
        await ws.receive_text()


# Denial responses


async def plain_403(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 403, "headers": []})
    await send({"type": "http.response.body", "body": b"Forbidden"})


async def test_denial_response_with_extension_translates_http_messages() -> None:
    ws, peer = connect(CONNECT)
    await ws.send_denial_response(plain_403)
    assert peer.sent == [
        {"type": "websocket.http.response.start", "status": 403, "headers": []},
        {"type": "websocket.http.response.body", "body": b"Forbidden"},
    ]
    assert ws.application_state is WebSocketState.DISCONNECTED
    with pytest.raises(RuntimeError, match="denial response is sent"):
        await ws.send_text("x")


async def test_denial_response_streamed_in_websocket_messages() -> None:
    async def chunked(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"a", "more_body": True})
        assert ws.application_state is WebSocketState.RESPONSE
        await send({"type": "http.response.body", "body": b"b", "more_body": False})

    ws, peer = connect(CONNECT)
    await ws.send_denial_response(chunked)
    assert [m.get("body") for m in peer.sent] == [None, b"a", b"b"]
    assert ws.application_state is WebSocketState.DISCONNECTED


async def test_denial_response_wrong_message_mid_response() -> None:
    async def bad(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "websocket.send", "text": "nope"})

    ws, _ = connect(CONNECT)
    with pytest.raises(RuntimeError, match=r"websocket\.http\.response\.body.*'websocket\.send'"):
        await ws.send_denial_response(bad)


@pytest.mark.parametrize("extensions", [{}, None, {"websocket.other": {}}])
async def test_denial_response_without_extension_closes_with_1008(extensions: Any) -> None:
    ws, peer = connect(CONNECT, extensions=extensions)
    await ws.send_denial_response(plain_403)
    assert peer.sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert ws.application_state is WebSocketState.DISCONNECTED


async def test_manual_response_start_without_extension() -> None:
    ws, peer = connect(CONNECT, extensions={})
    with pytest.raises(RuntimeError, match="denial response extension"):
        await ws.send({"type": "websocket.http.response.start", "status": 403})
    assert peer.sent == []


async def test_denial_response_after_accept() -> None:
    ws, peer = await accepted()
    with pytest.raises(RuntimeError, match="before the WebSocket is accepted"):
        await ws.send_denial_response(plain_403)
    assert peer.sent == []


# Small pieces


async def test_websocket_close_app() -> None:
    peer = Peer()
    await WebSocketClose()(make_scope(), peer.receive, peer.send)
    await WebSocketClose(code=1013, reason="busy")(make_scope(), peer.receive, peer.send)
    assert peer.sent == [
        {"type": "websocket.close", "code": 1000, "reason": ""},
        {"type": "websocket.close", "code": 1013, "reason": "busy"},
    ]


def test_websocket_disconnect_defaults() -> None:
    exc = WebSocketDisconnect()
    assert (exc.code, exc.reason) == (1000, "")
    assert (
        repr(WebSocketDisconnect(1001, "away")) == "WebSocketDisconnect(code=1001, reason='away')"
    )


def test_websocket_needs_websocket_scope() -> None:
    peer = Peer()
    with pytest.raises(ValueError, match="websocket"):
        WebSocket({"type": "http"}, peer.receive, peer.send)


def test_states() -> None:
    names: Iterable[str] = (state.name for state in WebSocketState)
    assert list(names) == ["CONNECTING", "CONNECTED", "DISCONNECTED", "RESPONSE"]


# --- WebSocketDisconnected: using a connection that is not (or no longer) usable -------


def test_websocket_disconnected_is_a_runtime_error() -> None:
    assert issubclass(WebSocketDisconnected, RuntimeError)
    assert not issubclass(WebSocketDisconnected, WebSocketDisconnect)


@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_json"])
async def test_receiving_data_before_accept_raises_websocket_disconnected(method: str) -> None:
    websocket, peer = connect(CONNECT)
    with pytest.raises(WebSocketDisconnected, match="accept"):
        await getattr(websocket, method)()
    assert peer.incoming == [CONNECT]  # nothing was read


async def test_receiving_after_the_disconnect_message_raises_websocket_disconnected() -> None:
    websocket, _ = connect(CONNECT, {"type": "websocket.disconnect", "code": 1001})
    await websocket.accept()
    with pytest.raises(WebSocketDisconnect):
        await websocket.receive_text()
    with pytest.raises(WebSocketDisconnected, match="disconnect message"):
        await websocket.receive_text()
    with pytest.raises(WebSocketDisconnected, match="disconnect message"):
        await websocket.receive()


async def test_using_a_closed_websocket_raises_websocket_disconnected() -> None:
    websocket, peer = connect(CONNECT)
    await websocket.accept()
    await websocket.close()
    with pytest.raises(WebSocketDisconnected, match="closed"):
        await websocket.close()  # closing twice
    with pytest.raises(WebSocketDisconnected, match="closed"):
        await websocket.send_text("late")
    with pytest.raises(WebSocketDisconnected, match="accept"):
        await websocket.receive_text()
    assert [message["type"] for message in peer.sent] == ["websocket.accept", "websocket.close"]


async def test_sending_data_before_accept_stays_a_plain_runtime_error() -> None:
    """As in Starlette: the connection is not closed yet, the order of calls is wrong."""
    websocket, _ = connect(CONNECT)
    with pytest.raises(RuntimeError) as info:
        await websocket.send_text("early")
    assert type(info.value) is RuntimeError


async def test_websocket_is_generic_in_its_state() -> None:
    websocket, _ = connect(CONNECT)
    typed: WebSocket[State] = websocket
    typed.state["n"] = 1
    assert typed.state.n == 1
    assert WebSocket[dict[str, Any]] is not WebSocket


# The per-message size limit (RequestLimits.max_message_size)


def limited(limit: int | None, *incoming: Message) -> tuple[WebSocket, Peer]:
    peer = Peer(CONNECT, *incoming)
    scope = make_scope()
    scope[LIMITS_KEY] = RequestLimits(max_message_size=limit)
    return WebSocket(scope, peer.receive, peer.send), peer


TOO_BIG = {"type": "websocket.close", "code": 1009, "reason": "Message Too Big"}


async def test_a_message_over_the_limit_closes_1009_and_reads_as_a_disconnect() -> None:
    ws, peer = limited(4, binary(b"1234"), binary(b"12345"))
    await ws.accept()
    assert await ws.receive_bytes() == b"1234"
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_bytes()
    assert (info.value.code, info.value.reason) == (1009, "Message Too Big")
    assert peer.sent[-1] == TOO_BIG
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert ws.application_state is WebSocketState.DISCONNECTED


@pytest.mark.parametrize(
    ("message", "too_big"),
    [
        (text("abcd"), False),
        (text("abcde"), True),  # more characters than bytes allowed
        (text("\u00e9\u00e9"), False),  # 4 UTF-8 bytes
        (text("\u00e9\u00e9a"), True),  # 5 UTF-8 bytes
        (text("a"), False),  # short enough without encoding
        ({"type": "websocket.receive", "bytes": None, "text": "ab"}, False),
        ({"type": "websocket.receive"}, False),  # neither: left to receive_text()
    ],
)
async def test_text_is_measured_in_utf8_bytes(message: Message, too_big: bool) -> None:
    ws, _ = limited(4, message)
    await ws.accept()
    received = await ws.receive()
    assert (received["type"] == "websocket.disconnect") is too_big


async def test_default_limit_is_one_mib_and_none_lifts_it() -> None:
    ws, _ = connect(CONNECT, binary(b"x" * (1024 * 1024 + 1)))
    await ws.accept()
    assert (await ws.receive())["code"] == 1009
    ws, _ = limited(None, binary(b"x" * (2 * 1024 * 1024)))
    await ws.accept()
    assert len((await ws.receive())["bytes"]) == 2 * 1024 * 1024


async def test_too_big_after_the_app_closed_sends_nothing_more() -> None:
    ws, peer = limited(1, binary(b"12"))
    await ws.accept()
    await ws.close()
    peer.sent.clear()
    assert (await ws.receive())["code"] == 1009
    assert peer.sent == []

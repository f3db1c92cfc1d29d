"""WebSocket routing and WebSocketEndpoint."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import run, run_websocket

from asgi_core.types import Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_routing import Mount, Router, WebSocketRoute
from asgi_routing.endpoints import WebSocketEndpoint

pytestmark = pytest.mark.anyio


async def hello(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"params": {k: str(v) for k, v in websocket.path_params.items()}})
    await websocket.close()


class RawSocket:
    """A plain ASGI WebSocket app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000, "reason": ""})


CLOSE_1000 = {"type": "websocket.close", "code": 1000, "reason": ""}


async def test_websocket_routes() -> None:
    app = Router(
        [
            WebSocketRoute("/ws/{room}", hello),
            WebSocketRoute("/raw", RawSocket()),
            Mount("/nested", routes=[WebSocketRoute("/ws", RawSocket())]),
        ]
    )
    sent = await run_websocket(app, "/ws/lobby")
    assert sent[0]["type"] == "websocket.accept"
    assert sent[1]["text"] == '{"params":{"room":"lobby"}}'
    assert (await run_websocket(app, "/raw"))[0]["type"] == "websocket.accept"
    assert (await run_websocket(app, "/nested/ws"))[0]["type"] == "websocket.accept"


async def test_websocket_not_found_closes() -> None:
    app = Router([WebSocketRoute("/ws", hello)])
    assert await run_websocket(app, "/nope") == [CLOSE_1000]
    # An HTTP request never matches a WebSocket route, and vice versa.
    assert (await run(app, "GET", "/ws")).status == 404


class Collector(WebSocketEndpoint):
    received: list[Any]
    closed: list[int]

    async def on_connect(self, websocket: WebSocket) -> None:
        await super().on_connect(websocket)
        await super().on_receive(websocket, None)

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        self.received.append(data)

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        await super().on_disconnect(websocket, close_code)
        self.closed.append(close_code)


def collector(encoding: str | None) -> type[Collector]:
    class Endpoint(Collector):
        received: list[Any] = []
        closed: list[int] = []

    Endpoint.encoding = encoding
    return Endpoint


@pytest.mark.parametrize(
    ("encoding", "messages", "received"),
    [
        (None, [{"text": "a"}, {"bytes": b"b"}], ["a", b"b"]),
        ("text", [{"text": "a"}], ["a"]),
        ("bytes", [{"bytes": b"b"}], [b"b"]),
        ("json", [{"text": '{"a": 1}'}, {"bytes": b"[2]"}], [{"a": 1}, [2]]),
    ],
)
async def test_websocket_endpoint_decodes(
    encoding: str | None, messages: list[dict[str, Any]], received: list[Any]
) -> None:
    endpoint = collector(encoding)
    incoming = [{"type": "websocket.receive", **message} for message in messages]
    sent = await run_websocket(Router([WebSocketRoute("/ws", endpoint)]), "/ws", incoming)
    assert sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]
    assert endpoint.received == received
    assert endpoint.closed == [1000]


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("text", {"bytes": b"x"}),
        ("bytes", {"text": "x"}),
        ("json", {"text": "{not json"}),
        ("json", {"bytes": b"\xff"}),
        ("json", {"text": "[" * 100_000}),
        ("bytes", {"text": None, "bytes": None}),
        ("json", {}),
    ],
)
async def test_websocket_endpoint_wrong_type_closes_1003(
    encoding: str, message: dict[str, Any]
) -> None:
    endpoint = collector(encoding)
    incoming = [{"type": "websocket.receive", **message}]
    sent = await run_websocket(WebSocketRoute("/ws", endpoint), "/ws", incoming)
    assert sent[-1]["type"] == "websocket.close"
    assert sent[-1]["code"] == 1003
    assert endpoint.received == []
    assert endpoint.closed == [1003]


async def test_websocket_endpoint_disconnect_code() -> None:
    endpoint = collector(None)
    incoming = [{"type": "websocket.disconnect", "code": 1001}]
    await run_websocket(WebSocketRoute("/ws", endpoint), "/ws", incoming)
    assert endpoint.closed == [1001]


async def test_websocket_endpoint_errors_still_disconnect() -> None:
    closed: list[int] = []

    class Failing(WebSocketEndpoint):
        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise RuntimeError("boom")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            closed.append(close_code)

    incoming = [{"type": "websocket.receive", "text": "x"}]
    with pytest.raises(RuntimeError, match="boom"):
        await run_websocket(WebSocketRoute("/ws", Failing), "/ws", incoming)
    assert closed == [1011]


async def test_websocket_endpoint_validation() -> None:
    class Odd(WebSocketEndpoint):
        encoding = "xml"

    with pytest.raises(ValueError, match="Unsupported WebSocketEndpoint encoding 'xml'"):
        await run_websocket(WebSocketRoute("/ws", Odd), "/ws")
    with pytest.raises(RuntimeError, match="only handles WebSocket"):
        await run(Router([Mount("/", app=WebSocketEndpoint)]), "GET", "/")


async def test_websocket_endpoint_decode_is_public_and_overridable() -> None:
    class Upper(Collector):
        received: list[Any] = []
        closed: list[int] = []
        encoding = "text"

        async def decode(self, websocket: WebSocket, message: Any) -> Any:
            return str(await super().decode(websocket, message)).upper()

    incoming = [{"type": "websocket.receive", "text": "hi"}, {"type": "websocket.receive"}]
    sent = await run_websocket(WebSocketRoute("/ws", Upper), "/ws", incoming)
    assert Upper.received == ["HI"]
    assert sent[-1]["code"] == 1003
    assert Upper.closed == [1003]
    endpoint = collector(None)
    await run_websocket(WebSocketRoute("/ws", endpoint), "/ws", [{"type": "websocket.receive"}])
    assert endpoint.received == [b""]

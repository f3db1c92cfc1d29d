from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from asgi_driver import disconnect_when, idle_receive, make_scope, run

from asgi_core.background import BackgroundTask
from asgi_responses import EventSourceResponse, ServerSentEvent
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

# ---- framing --------------------------------------------------------------------


def test_full_event_framing() -> None:
    event = ServerSentEvent(data="hello", event="greeting", id="7", retry=1500, comment="hi")
    assert event.encode() == b": hi\nid: 7\nevent: greeting\nretry: 1500\ndata: hello\n\n"


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        ("one\ntwo", b"data: one\ndata: two\n\n"),
        ("one\r\ntwo\rthree", b"data: one\ndata: two\ndata: three\n\n"),
        ("trailing\n", b"data: trailing\ndata: \n\n"),
        ("", b"data: \n\n"),
        ({"a": [1, "é"]}, 'data: {"a":[1,"é"]}\n\n'.encode()),
        (3, b"data: 3\n\n"),
    ],
)
def test_data_framing(data: Any, wire: bytes) -> None:
    assert ServerSentEvent(data=data).encode() == wire


def test_multiline_comment_and_empty_event() -> None:
    assert ServerSentEvent(comment="a\r\nb").encode() == b": a\n: b\n\n"
    assert ServerSentEvent().encode() == b"\n"


@pytest.mark.parametrize("field", ["id", "event"])
@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb", "a\0b"])
def test_single_line_fields(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        ServerSentEvent(**{field: value})


@pytest.mark.parametrize("retry", [-1, True, 1.5, "10"])
def test_retry_must_be_non_negative_int(retry: Any) -> None:
    with pytest.raises(ValueError):
        ServerSentEvent(retry=retry)


def test_repr() -> None:
    assert repr(ServerSentEvent(data="x", id="1")) == "ServerSentEvent(data='x', id='1')"


# ---- the response ---------------------------------------------------------------


async def _items() -> AsyncIterator[Any]:
    yield ServerSentEvent(data="a", id="1")
    yield {"data": "b", "event": "e"}
    yield "c\nd"


async def test_stream_and_headers() -> None:
    result = await run(EventSourceResponse(_items(), headers={"X-A": "1"}))
    assert result.status == 200
    assert result.raw_headers == [
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"x-a", b"1"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
    ]
    assert result.body == b"id: 1\ndata: a\n\nevent: e\ndata: b\n\ndata: c\ndata: d\n\n"
    assert result.complete
    assert all(m.get("more_body") for m in result.messages[1:-1])


async def test_headers_can_be_overridden() -> None:
    response = EventSourceResponse(["x"], status_code=202, headers={"Cache-Control": "no-store"})
    result = await run(response)
    assert result.status == 202
    assert result.header_values("cache-control") == ["no-store"]
    assert result.header_values("x-accel-buffering") == ["no"]
    assert result.body == b"data: x\n\n"


async def test_sync_iterable() -> None:
    result = await run(EventSourceResponse(iter(["a", {"data": 1}]), ping=None))
    assert result.body == b"data: a\n\ndata: 1\n\n"


async def test_ping_when_idle() -> None:
    pinged = anyio.Event()
    messages: list[bytes] = []

    async def slow() -> AsyncIterator[str]:
        yield "first"
        await pinged.wait()
        yield "last"

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            messages.append(message["body"])
            if message["body"] == b": ping\n\n":
                pinged.set()

    await EventSourceResponse(slow(), ping=0.001)(make_scope(), idle_receive, send)
    assert messages[0] == b"data: first\n\n"
    assert b": ping\n\n" in messages
    assert messages[-2:] == [b"data: last\n\n", b""]


async def test_disconnect_closes_generator() -> None:
    closed = anyio.Event()
    ran: list[bool] = []
    count = 0
    gone = anyio.Event()

    async def forever() -> AsyncIterator[str]:
        nonlocal count
        try:
            while True:
                count += 1
                if count == 3:
                    gone.set()
                yield str(count)
        finally:
            closed.set()

    response = EventSourceResponse(forever(), background=BackgroundTask(ran.append, True))
    result = await run(response, receive=disconnect_when(gone))
    assert closed.is_set()
    assert ran == [True]
    assert not result.complete


async def test_send_failure_closes_generator() -> None:
    closed: list[bool] = []

    async def forever() -> AsyncIterator[str]:
        try:
            while True:
                yield "x"
        finally:
            closed.append(True)

    sends = 0

    async def send(message: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            raise OSError("gone")

    await EventSourceResponse(forever())(make_scope(), idle_receive, send)
    assert closed == [True]
    assert sends == 3


async def test_generator_error_propagates() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "x"
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await run(EventSourceResponse(broken()))


async def test_bad_item_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        await run(EventSourceResponse([1]))


async def test_head() -> None:
    result = await run(EventSourceResponse(["x"]), method="HEAD")
    assert result.header("content-type") == "text/event-stream; charset=utf-8"
    assert result.body == b""


async def test_over_the_test_client() -> None:
    reply = await AsyncTestClient(EventSourceResponse(_items())).get("/")
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.text.count("\n\n") == 3

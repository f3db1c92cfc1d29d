from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from asgi_driver import (
    call,
    disconnect_when,
    idle_receive,
    make_scope,
    queue_receive,
    run,
    websocket_scope,
)

from asgi_core.background import BackgroundTask
from asgi_core.requests import ClientDisconnect
from asgi_responses import StreamingResponse
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio


async def test_async_chunks_of_every_type() -> None:
    async def numbers() -> AsyncIterator[Any]:
        yield "a"
        yield b"b"
        yield memoryview(b"c")

    response = StreamingResponse(numbers(), media_type="text/plain", headers={"x-a": "1"})
    result = await run(response)
    assert result.status == 200
    assert result.raw_headers == [(b"x-a", b"1"), (b"content-type", b"text/plain; charset=utf-8")]
    bodies = [(bytes(m["body"]), m["more_body"]) for m in result.messages[1:]]
    assert bodies == [(b"a", True), (b"b", True), (b"c", True), (b"", False)]


async def test_sync_iterator_runs_in_a_thread() -> None:
    import threading

    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"x", b"y"):
            threads.append(threading.get_ident())
            yield chunk

    result = await run(StreamingResponse(chunks(), status_code=201))
    assert result.status == 201
    assert result.body == b"xy"
    assert result.complete
    assert threading.get_ident() not in threads


async def test_plain_list_and_custom_async_iterable() -> None:
    class Countdown:
        def __init__(self) -> None:
            self.n = 2

        def __aiter__(self) -> Countdown:
            return self

        async def __anext__(self) -> bytes:
            if self.n == 0:
                raise StopAsyncIteration
            self.n -= 1
            return str(self.n).encode()

    assert (await run(StreamingResponse([b"a", "b"]))).body == b"ab"
    assert (await run(StreamingResponse(Countdown()))).body == b"10"


async def test_disconnect_stops_async_generator_and_runs_background() -> None:
    closed = anyio.Event()
    background_ran: list[bool] = []
    sent = anyio.Event()
    count = 0

    async def forever() -> AsyncIterator[bytes]:
        nonlocal count
        try:
            while True:
                count += 1
                if count == 3:
                    sent.set()
                yield b"tick"
                await anyio.sleep(0)
        finally:
            closed.set()

    response = StreamingResponse(forever(), background=BackgroundTask(background_ran.append, True))
    result = await run(response, receive=disconnect_when(sent))
    assert closed.is_set()
    assert background_ran == [True]
    assert not result.complete
    assert result.body.startswith(b"ticktick")


async def test_disconnect_closes_sync_generator() -> None:
    closed: list[bool] = []
    sent = anyio.Event()

    def forever() -> Iterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.append(True)

    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)
        if len(messages) == 3:
            sent.set()
        await anyio.sleep(0)

    await StreamingResponse(forever())(make_scope(), disconnect_when(sent), send)
    assert closed == [True]
    assert messages[-1]["more_body"] is True


@pytest.mark.parametrize("error", [OSError("gone"), ClientDisconnect()])
async def test_send_error_stops_quietly(error: Exception) -> None:
    closed: list[bool] = []

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.append(True)

    sends = 0

    async def send(message: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            raise error

    background: list[bool] = []
    response = StreamingResponse(forever(), background=BackgroundTask(background.append, True))
    await response(make_scope(), idle_receive, send)
    assert closed == [True]
    assert background == [True]
    assert sends == 3


async def test_head_does_not_iterate() -> None:
    started: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        started.append(True)  # pragma: no cover - must not run
        yield b"x"  # pragma: no cover

    result = await run(StreamingResponse(body(), media_type="text/csv"), method="HEAD")
    assert result.header("content-type") == "text/csv; charset=utf-8"
    assert result.body == b""
    assert started == []


async def test_iterator_error_propagates_unwrapped() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x"
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await run(StreamingResponse(broken()))


async def test_receive_error_propagates_unwrapped() -> None:
    async def slow() -> AsyncIterator[bytes]:
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async def receive() -> dict[str, Any]:
        raise RuntimeError("receive failed")

    with pytest.raises(RuntimeError, match="receive failed"):
        await run(StreamingResponse(slow()), receive=receive)


async def test_over_the_test_client() -> None:
    async def body() -> AsyncIterator[str]:
        for word in ("a", "b", "c"):
            yield word

    reply = await AsyncTestClient(StreamingResponse(body())).get("/")
    assert reply.text == "abc"


# ---- ASGI spec 2.4 disconnect semantics -------------------------------------------


def spec(version: str) -> dict[str, str]:
    return {"version": "3.0", "spec_version": version}


async def never_called() -> dict[str, Any]:
    raise AssertionError("receive() must not be polled from ASGI spec 2.4 on")


@pytest.mark.parametrize("version", ["2.4", "2.5", "3.0"])
async def test_from_spec_2_4_receive_is_not_polled(version: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b"):
            await anyio.sleep(0)
            yield chunk

    result = await run(StreamingResponse(body()), receive=never_called, asgi=spec(version))
    assert result.body == b"ab"
    assert result.complete


async def test_from_spec_2_4_a_send_oserror_raises_client_disconnect() -> None:
    closed: list[bool] = []
    background: list[bool] = []

    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.append(True)

    sends = 0

    async def send(message: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            raise OSError("connection reset")

    response = StreamingResponse(forever(), background=BackgroundTask(background.append, True))
    with pytest.raises(ClientDisconnect) as info:
        await response(make_scope(asgi=spec("2.4")), never_called, send)
    assert isinstance(info.value.__cause__, OSError)
    assert closed == [True]  # the iterator is closed all the same
    assert background == []  # the response did not complete


async def test_from_spec_2_4_client_disconnect_of_the_iterator_propagates() -> None:
    async def reads_the_request() -> AsyncIterator[bytes]:
        yield b"x"
        raise ClientDisconnect()

    with pytest.raises(ClientDisconnect):
        await run(StreamingResponse(reads_the_request()), asgi=spec("2.4"))
    # below 2.4 it ends the response quietly
    result = await run(StreamingResponse(reads_the_request()), asgi=spec("2.3"))
    assert result.body == b"x"


@pytest.mark.parametrize("asgi", [None, {"version": "3.0"}, spec("2.3"), spec("2.x")])
async def test_below_spec_2_4_disconnect_is_awaited(asgi: dict[str, str] | None) -> None:
    sent = anyio.Event()

    async def forever() -> AsyncIterator[bytes]:
        while True:
            sent.set()
            yield b"x"
            await anyio.sleep(0)

    scope = make_scope()
    if asgi is None:
        del scope["asgi"]
    else:
        scope["asgi"] = asgi
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    await StreamingResponse(forever())(scope, disconnect_when(sent), send)
    assert messages[-1]["more_body"] is True


async def test_listen_for_disconnect_is_public() -> None:
    receive = queue_receive(
        [{"type": "http.request", "body": b"x", "more_body": True}, {"type": "http.disconnect"}]
    )
    await StreamingResponse([]).listen_for_disconnect(receive)  # returns, nothing left


async def test_listen_for_disconnect_can_be_overridden() -> None:
    class GivesUp(StreamingResponse):
        async def listen_for_disconnect(self, receive: Any) -> None:
            await anyio.sleep(0)  # stop at once, as if the client had left

    async def forever() -> AsyncIterator[bytes]:
        while True:
            await anyio.sleep(0.01)
            yield b"x"  # pragma: no cover

    result = await run(GivesUp(forever()), receive=idle_receive)
    assert not result.complete


# ---- WebSocket denial responses ----------------------------------------------------


@pytest.mark.parametrize("version", ["2.3", "2.4"])
async def test_on_a_websocket_scope_it_is_a_denial_response(version: str) -> None:
    ran: list[bool] = []
    response = StreamingResponse(
        iter([b"no", "pe"]),
        status_code=403,
        media_type="text/plain",
        background=BackgroundTask(ran.append, True),
    )
    messages = await call(response, websocket_scope(asgi=spec(version)), never_called)
    assert messages == [
        {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        },
        {"type": "websocket.http.response.body", "body": b"no", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"pe", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"", "more_body": False},
    ]
    assert ran == [True]


async def test_websocket_denial_passes_other_messages_through() -> None:
    class Debugging(StreamingResponse):
        async def stream_response(self, send: Any) -> None:
            await send({"type": "http.response.debug", "info": {}})
            await super().stream_response(send)

    messages = await call(Debugging([b"x"]), websocket_scope(), never_called)
    assert [m["type"] for m in messages] == [
        "http.response.debug",
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.http.response.body",
    ]

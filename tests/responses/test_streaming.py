from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from asgi_driver import disconnect_when, idle_receive, make_scope, run

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

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

from asgi_core.background import BackgroundTask
from asgi_core.requests import ClientDisconnect
from asgi_responses import StreamingResponse

pytestmark = pytest.mark.anyio


async def test_async_chunks_of_every_type(call: Any) -> None:
    async def numbers() -> AsyncIterator[Any]:
        yield "a"
        yield b"b"
        yield memoryview(b"c")

    response = StreamingResponse(numbers(), media_type="text/plain", headers={"x-a": "1"})
    result = await call(response)
    assert result.status == 200
    assert result.raw_headers == [(b"x-a", b"1"), (b"content-type", b"text/plain; charset=utf-8")]
    bodies = [(bytes(m["body"]), m["more_body"]) for m in result.messages[1:]]
    assert bodies == [(b"a", True), (b"b", True), (b"c", True), (b"", False)]


async def test_sync_iterator_runs_in_a_thread(call: Any) -> None:
    import threading

    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"x", b"y"):
            threads.append(threading.get_ident())
            yield chunk

    result = await call(StreamingResponse(chunks(), status_code=201))
    assert result.status == 201
    assert result.body == b"xy"
    assert result.complete
    assert threading.get_ident() not in threads


async def test_plain_list_and_custom_async_iterable(call: Any) -> None:
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

    assert (await call(StreamingResponse([b"a", "b"]))).body == b"ab"
    assert (await call(StreamingResponse(Countdown()))).body == b"10"


def _disconnect_after(sent: anyio.Event) -> Any:
    """A receive: the request body first, then a disconnect once ``sent`` is set."""
    state = {"first": True}

    async def receive() -> dict[str, Any]:
        if state["first"]:
            state["first"] = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await sent.wait()
        return {"type": "http.disconnect"}

    return receive


async def test_disconnect_stops_async_generator_and_runs_background(call: Any) -> None:
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
    result = await call(response, receive=_disconnect_after(sent))
    assert closed.is_set()
    assert background_ran == [True]
    assert not result.complete
    assert result.body.startswith(b"ticktick")


async def test_disconnect_closes_sync_generator(call: Any) -> None:
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

    from_scope = {"type": "http", "method": "GET", "headers": []}
    await StreamingResponse(forever())(from_scope, _disconnect_after(sent), send)
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

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    background: list[bool] = []
    response = StreamingResponse(forever(), background=BackgroundTask(background.append, True))
    await response({"type": "http", "method": "GET"}, receive, send)
    assert closed == [True]
    assert background == [True]
    assert sends == 3


async def test_head_does_not_iterate(call: Any) -> None:
    started: list[bool] = []

    async def body() -> AsyncIterator[bytes]:
        started.append(True)  # pragma: no cover - must not run
        yield b"x"  # pragma: no cover

    result = await call(StreamingResponse(body(), media_type="text/csv"), method="HEAD")
    assert result.header("content-type") == "text/csv; charset=utf-8"
    assert result.body == b""
    assert started == []


async def test_iterator_error_propagates_unwrapped(call: Any) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x"
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await call(StreamingResponse(broken()))


async def test_receive_error_propagates_unwrapped(call: Any) -> None:
    async def slow() -> AsyncIterator[bytes]:
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async def receive() -> dict[str, Any]:
        raise RuntimeError("receive failed")

    with pytest.raises(RuntimeError, match="receive failed"):
        await call(StreamingResponse(slow()), receive=receive)


async def test_over_httpx() -> None:
    async def body() -> AsyncIterator[str]:
        for word in ("a", "b", "c"):
            yield word

    transport = httpx.ASGITransport(app=StreamingResponse(body()))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        reply = await http.get("/")
    assert reply.text == "abc"

"""RequestBodyLimitMiddleware: declared, chunked and lying bodies; per-route overrides."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, RequestLimits, get_limits
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.body_limit import RequestBodyLimitMiddleware

pytestmark = pytest.mark.anyio


async def read_all(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_all(receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"got %d" % len(body)})


async def run(
    app: ASGIApp,
    chunks: Sequence[bytes],
    content_length: bytes | None = None,
    scope_extra: dict[str, Any] | None = None,
) -> tuple[list[Message], int]:
    """Messages sent and how many chunks the server had to deliver."""
    headers = [] if content_length is None else [(b"content-length", content_length)]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    scope.update(scope_extra or {})
    pending = list(chunks)
    delivered = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal delivered
        if not pending:
            await anyio.sleep_forever()  # a server would wait for the client: must not happen
        delivered += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(scope, receive, send)
    return sent, delivered


def status(sent: list[Message]) -> int:
    return int(sent[0]["status"])


async def test_small_bodies_pass() -> None:
    app = RequestBodyLimitMiddleware(echo, max_body_size=10)
    sent, _ = await run(app, [b"12345", b"67890"], b"10")
    assert status(sent) == 200
    assert sent[1]["body"] == b"got 10"


async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app = RequestBodyLimitMiddleware(echo, max_body_size=10)
    sent, delivered = await run(app, [b"x" * 11], b"11")
    assert delivered == 0
    assert status(sent) == 413
    assert sent[1]["body"] == b"Request body exceeds the limit of 10 bytes"
    assert (b"connection", b"close") in sent[0]["headers"]
    assert len(sent) == 2
    sent, delivered = await run(app, [b"x"], b"9" * 5000)
    assert (status(sent), delivered) == (413, 0)


async def test_chunked_and_understated_bodies_stop_at_the_limit() -> None:
    app = RequestBodyLimitMiddleware(echo, max_body_size=10)
    chunks = [b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6]
    sent, delivered = await run(app, chunks)  # no Content-Length
    assert (status(sent), delivered) == (413, 2)
    sent, delivered = await run(app, chunks, b"4")  # a lying Content-Length
    assert (status(sent), delivered) == (413, 2)
    sent, delivered = await run(app, chunks, b"junk")
    assert (status(sent), delivered) == (413, 2)
    sent, delivered = await run(app, [b"abc"], b"0003")
    assert status(sent) == 200


async def test_route_override_in_scope_is_honoured() -> None:
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        # what Route(max_body_size=...) does: replace the limits in place
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=100)
        await echo(scope, receive, send)

    app = RequestBodyLimitMiddleware(route, max_body_size=10)
    sent, _ = await run(app, [b"x" * 50], b"50")
    assert sent[1]["body"] == b"got 50"
    sent, _ = await run(app, [b"x" * 60, b"x" * 60], b"120")
    assert status(sent) == 413
    assert sent[1]["body"] == b"Request body exceeds the limit of 100 bytes"


async def test_limits_are_set_in_scope_keeping_other_values() -> None:
    seen: list[RequestLimits] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope[LIMITS_KEY])
        await echo(scope, receive, send)

    middleware = RequestBodyLimitMiddleware(app, max_body_size=None)
    limits = RequestLimits(max_fields=5, max_body_size=1)
    sent, _ = await run(middleware, [b"x" * 5000], b"5000", {LIMITS_KEY: limits})
    assert status(sent) == 200
    assert seen == [RequestLimits(max_fields=5, max_body_size=None)]
    assert RequestBodyLimitMiddleware(echo).max_body_size == 1_048_576


async def test_app_that_swallows_the_error_cannot_send_more() -> None:
    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        with pytest.raises(HTTPException) as info:
            await read_all(receive)
        assert info.value.status_code == 413
        with pytest.raises(HTTPException):
            await receive()  # still over the limit
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"oops"})

    app = RequestBodyLimitMiddleware(stubborn, max_body_size=3)
    sent, _ = await run(app, [b"abcd"])
    assert status(sent) == 413
    assert len(sent) == 2


async def test_app_turning_the_error_into_another_is_still_a_413() -> None:
    async def converting(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await read_all(receive)
        except HTTPException as exc:
            raise RuntimeError("framework wrapped it") from exc

    app = RequestBodyLimitMiddleware(converting, max_body_size=3)
    sent, _ = await run(app, [b"abcd"])
    assert status(sent) == 413


async def test_limit_hit_after_the_response_started_just_stops() -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await read_all(receive)
        await send({"type": "http.response.body", "body": b"never"})  # pragma: no cover

    app = RequestBodyLimitMiddleware(streaming, max_body_size=3)
    sent, _ = await run(app, [b"abcd"])
    assert status(sent) == 200
    assert [m.get("body") for m in sent[1:]] == [b"partial"]


async def test_app_errors_unrelated_to_the_limit_propagate() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(413, "the app's own")

    app = RequestBodyLimitMiddleware(broken, max_body_size=3)
    with pytest.raises(HTTPException, match="the app's own"):
        await run(app, [b"a"])


async def test_disconnect_and_other_scopes_pass() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        await send({"type": "seen", "message": message, "scope": scope["type"]})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = RequestBodyLimitMiddleware(app, max_body_size=0)
    await middleware({"type": "http", "headers": []}, receive, send)
    await middleware({"type": "websocket", "headers": []}, receive, send)
    assert [m["message"]["type"] for m in sent] == ["http.disconnect"] * 2
    assert [m["scope"] for m in sent] == ["http", "websocket"]


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        RequestBodyLimitMiddleware(echo, max_body_size=-1)


@pytest.mark.anyio
async def test_a_refused_request_is_freed_without_the_cycle_collector() -> None:
    """Nothing of a 413'd request outlives it: no reference cycle keeps its buffers."""

    class Body:
        def __init__(self) -> None:
            self.sent = False

        async def __call__(self) -> dict[str, object]:
            if self.sent:
                return {"type": "http.disconnect"}
            self.sent = True
            return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def reader(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["type"] == "http.request":
            pass

    async def sink(message: Any) -> None:
        pass

    async def one_request() -> weakref.ref[Body]:
        receive = Body()
        scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
        await RequestBodyLimitMiddleware(reader, max_body_size=10)(scope, receive, sink)
        return weakref.ref(receive)

    gc.collect()
    gc.disable()
    try:
        ref = await one_request()
        assert ref() is None
    finally:
        gc.enable()

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
from asgi_middleware.body_limit import (
    MAX_BODY_SIZE_SCOPE_KEY,
    RequestBodyLimitMiddleware,
    RequestBodyLimitResponder,
)

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
    assert sent[1]["body"] == b"Content Too Large"
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
    assert sent[1]["body"] == b"Content Too Large"


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


async def test_limit_hit_after_the_response_started_raises_out_of_the_app() -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await read_all(receive)
        await send({"type": "http.response.body", "body": b"never"})  # pragma: no cover

    app = RequestBodyLimitMiddleware(streaming, max_body_size=3)
    with pytest.raises(HTTPException) as info:
        await run(app, [b"abcd"])
    assert (info.value.status_code, info.value.detail) == (413, "Content Too Large")


async def test_an_app_that_handles_a_late_413_may_finish_its_response() -> None:
    async def careful(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with pytest.raises(HTTPException):
            await read_all(receive)
        await send({"type": "http.response.body", "body": b"stopped reading"})

    sent, _ = await run(RequestBodyLimitMiddleware(careful, 3), [b"abcd"])
    assert status(sent) == 200
    assert sent[1]["body"] == b"stopped reading"


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


async def test_the_limit_is_published_under_starlettes_key_and_restored() -> None:
    assert MAX_BODY_SIZE_SCOPE_KEY == "starlette.max_body_size"
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope.get(MAX_BODY_SIZE_SCOPE_KEY), get_limits(scope).max_body_size))
        await echo(scope, receive, send)

    outer_limits = RequestLimits(max_fields=5)
    scope_extra = {MAX_BODY_SIZE_SCOPE_KEY: 99, LIMITS_KEY: outer_limits}
    scope: dict[str, Any] = {"type": "http", "method": "POST", "headers": [], **scope_extra}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"ab"}

    async def send(message: Message) -> None:
        pass

    await RequestBodyLimitMiddleware(app, 10)(scope, receive, send)
    await RequestBodyLimitMiddleware(app, None)(scope, receive, send)
    assert seen == [(10, 10), (None, None)]
    assert scope[MAX_BODY_SIZE_SCOPE_KEY] == 99  # restored
    assert scope[LIMITS_KEY] is outer_limits

    bare: dict[str, Any] = {"type": "http", "method": "POST", "headers": []}
    await RequestBodyLimitMiddleware(app, 10)(bare, receive, send)
    assert MAX_BODY_SIZE_SCOPE_KEY not in bare
    assert LIMITS_KEY not in bare

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await RequestBodyLimitMiddleware(failing, 10)(scope, receive, send)
    assert scope[MAX_BODY_SIZE_SCOPE_KEY] == 99


@pytest.mark.parametrize("inner", [5, 100])
async def test_a_limit_set_deeper_under_the_key_is_honoured(inner: int) -> None:
    """What a Starlette router or route does: set the key, restore it afterwards."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        previous = scope[MAX_BODY_SIZE_SCOPE_KEY]
        scope[MAX_BODY_SIZE_SCOPE_KEY] = inner
        try:
            await echo(scope, receive, send)
        finally:
            scope[MAX_BODY_SIZE_SCOPE_KEY] = previous

    app = RequestBodyLimitMiddleware(route, max_body_size=10)
    sent, _ = await run(app, [b"x" * 50], b"50")
    assert status(sent) == (413 if inner == 5 else 200)
    sent, _ = await run(app, [b"x" * 8])
    assert status(sent) == (413 if inner == 5 else 200)


async def test_the_responder_is_an_asgi_app_for_one_request() -> None:
    responder = RequestBodyLimitResponder(echo, 4)
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.scope  # noqa: B018
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.receive  # noqa: B018
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.send  # noqa: B018
    sent, _ = await run(responder, [b"ab", b"cd"], b"4")
    assert sent[1]["body"] == b"got 4"
    assert (responder.total_size, responder.content_length) == (4, 4)
    assert responder.response_started is True
    assert responder.scope["type"] == "http"

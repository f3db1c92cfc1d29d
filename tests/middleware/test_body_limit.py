"""RequestBodyLimitMiddleware: declared, chunked and lying bodies; per-route overrides."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import weakref
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from asgi_driver import (
    Boom,
    Result,
    body_receive,
    call,
    make_scope,
    queue_receive,
    run,
    websocket_scope,
)

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


async def count_body(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, then answer 200 "got <its length>"."""
    body = await read_all(receive)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"got %d" % len(body)})


class CountingBody:
    """A receive delivering the body ``chunks`` and counting how many the app pulled.
    Past the last chunk it waits, as a server would for the client: that must not happen."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.pending = list(chunks)
        self.delivered = 0

    async def __call__(self) -> Message:
        if not self.pending:
            await anyio.sleep_forever()
        self.delivered += 1
        chunk = self.pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.pending)}


async def post_chunks(
    app: ASGIApp, chunks: Sequence[bytes], content_length: bytes | None = None, **extra: Any
) -> tuple[Result, int]:
    """POST ``chunks`` (declaring ``content_length``, if given): what the app sent and
    how many chunks the server had to deliver."""
    headers = [] if content_length is None else [(b"content-length", content_length)]
    body = CountingBody(chunks)
    with anyio.fail_after(5):
        result = await run(app, "POST", "/", headers, receive=body, **extra)
    return result, body.delivered


async def test_small_bodies_pass() -> None:
    app = RequestBodyLimitMiddleware(count_body, max_body_size=10)
    result, _ = await post_chunks(app, [b"12345", b"67890"], b"10")
    assert result.status == 200
    assert result.messages[1]["body"] == b"got 10"


async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app = RequestBodyLimitMiddleware(count_body, max_body_size=10)
    result, delivered = await post_chunks(app, [b"x" * 11], b"11")
    assert delivered == 0
    assert result.status == 413
    assert result.messages[1]["body"] == b"Content Too Large"
    assert (b"connection", b"close") in result.raw_headers
    assert len(result.messages) == 2
    result, delivered = await post_chunks(app, [b"x"], b"9" * 5000)
    assert (result.status, delivered) == (413, 0)


async def test_chunked_and_understated_bodies_stop_at_the_limit() -> None:
    app = RequestBodyLimitMiddleware(count_body, max_body_size=10)
    chunks = [b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6]
    result, delivered = await post_chunks(app, chunks)  # no Content-Length
    assert (result.status, delivered) == (413, 2)
    result, delivered = await post_chunks(app, chunks, b"4")  # a lying Content-Length
    assert (result.status, delivered) == (413, 2)
    result, delivered = await post_chunks(app, chunks, b"junk")
    assert (result.status, delivered) == (413, 2)
    result, delivered = await post_chunks(app, [b"abc"], b"0003")
    assert result.status == 200


async def test_route_override_in_scope_is_honoured() -> None:
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        # what Route(max_body_size=...) does: replace the limits in place
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=100)
        await count_body(scope, receive, send)

    app = RequestBodyLimitMiddleware(route, max_body_size=10)
    result, _ = await post_chunks(app, [b"x" * 50], b"50")
    assert result.messages[1]["body"] == b"got 50"
    result, _ = await post_chunks(app, [b"x" * 60, b"x" * 60], b"120")
    assert result.status == 413
    assert result.messages[1]["body"] == b"Content Too Large"


async def test_limits_are_set_in_scope_keeping_other_values() -> None:
    seen: list[RequestLimits] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope[LIMITS_KEY])
        await count_body(scope, receive, send)

    middleware = RequestBodyLimitMiddleware(app, max_body_size=None)
    limits = RequestLimits(max_fields=5, max_body_size=1)
    result, _ = await post_chunks(middleware, [b"x" * 5000], b"5000", **{LIMITS_KEY: limits})
    assert result.status == 200
    assert seen == [RequestLimits(max_fields=5, max_body_size=None)]


async def test_an_app_answering_the_refusal_with_a_413_is_heard() -> None:
    """Its answer (a handler's 413) is the response, with the connection closed; what
    escapes the app afterwards is the refusal's aftermath, not a server error."""

    async def handled(scope: Scope, receive: Receive, send: Send) -> None:
        with pytest.raises(HTTPException) as info:
            await read_all(receive)
        assert info.value.status_code == 413
        assert info.value.headers == {"Connection": "close"}
        with pytest.raises(HTTPException):
            await receive()  # still over the limit
        headers = [(b"x-app", b"1"), (b"Connection", b"keep-alive")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": b"too big for us"})
        raise RuntimeError("logged by the app's framework, then re-raised") from info.value

    app = RequestBodyLimitMiddleware(handled, max_body_size=3)
    result, _ = await post_chunks(app, [b"abcd"])
    assert result.status == 413
    assert result.messages[1]["body"] == b"too big for us"
    assert result.raw_headers == [(b"x-app", b"1"), (b"connection", b"close")]


@pytest.mark.parametrize(("status", "reraise"), [(500, True), (400, True), (200, False)])
async def test_any_answer_to_the_refusal_but_a_413_is_replaced(status: int, reraise: bool) -> None:
    """Starlette's error middleware answers an exception class it does not know with
    500 and re-raises it; FastAPI answers a body it could not read with 400; a careless
    app says it saved what it could."""

    async def answering(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await read_all(receive)
        except HTTPException:
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"its own answer"})
            if reraise:
                raise

    result, _ = await post_chunks(RequestBodyLimitMiddleware(answering, 3), [b"abcd"])
    assert result.status == 413
    assert [m.get("body") for m in result.messages] == [None, b"Content Too Large"]


async def test_an_app_that_swallows_the_refusal_and_says_nothing_gets_the_413() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(HTTPException):
            await read_all(receive)

    result, _ = await post_chunks(RequestBodyLimitMiddleware(silent, 3), [b"abcd"], b"4")
    assert result.status == 413
    assert (b"connection", b"close") in result.raw_headers


async def test_app_turning_the_error_into_another_is_still_a_413() -> None:
    async def converting(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await read_all(receive)
        except HTTPException as exc:
            raise RuntimeError("framework wrapped it") from exc

    app = RequestBodyLimitMiddleware(converting, max_body_size=3)
    result, _ = await post_chunks(app, [b"abcd"])
    assert result.status == 413


async def test_an_error_of_the_apps_own_after_the_refusal_still_reaches_the_server() -> None:
    """The client gets its 413; an exception not raised from it is not swallowed."""

    async def buggy(scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(HTTPException):
            await read_all(receive)
        if scope["path"] == "/answered":
            await send({"type": "http.response.start", "status": 413, "headers": []})
            await send({"type": "http.response.body", "body": b"refused"})
        if scope["path"] == "/cycle":
            # a chain looping on itself (set by hand) is followed once around
            error, other = Boom(), ValueError()
            error.__cause__, other.__cause__ = other, error
            raise error
        try:
            await receive()
        except HTTPException:
            if scope["path"] == "/converted":
                raise Boom from None  # the 413 turned into another error on purpose
            raise Boom  # noqa: B904 - a bug while handling it: its implicit context only

    middleware = RequestBodyLimitMiddleware(buggy, max_body_size=3)
    for path, body in (("/", b"Content Too Large"), ("/answered", b"refused"), ("/cycle", None)):
        # a bug while handling the 413 (its implicit context) is the app's own
        sent: list[Message] = []
        scope = make_scope("POST", path)
        with pytest.raises(Boom):
            await middleware(scope, body_receive(b"abcd"), _collect(sent))
        assert (sent[0]["status"], sent[1]["body"]) == (413, body or b"Content Too Large")
    # turned into another error on purpose ("from None"): the refusal's aftermath
    sent = []
    await middleware(make_scope("POST", "/converted"), body_receive(b"abcd"), _collect(sent))
    assert (sent[0]["status"], len(sent)) == (413, 2)


def _collect(sent: list[Message]) -> Send:
    """A server's send that keeps what it is given in ``sent``."""

    async def send(message: Message) -> None:
        sent.append(message)

    return send


async def test_a_task_group_holding_the_refusal_is_the_refusal() -> None:
    async def grouped(scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(read_all, receive)

    result, _ = await post_chunks(RequestBodyLimitMiddleware(grouped, 3), [b"abcd"])
    assert result.status == 413


async def test_limit_hit_after_the_response_started_raises_out_of_the_app() -> None:
    async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await read_all(receive)
        await send({"type": "http.response.body", "body": b"never"})  # pragma: no cover

    app = RequestBodyLimitMiddleware(streaming, max_body_size=3)
    with pytest.raises(HTTPException) as info:
        await post_chunks(app, [b"abcd"])
    assert (info.value.status_code, info.value.detail) == (413, "Content Too Large")


async def test_an_app_that_handles_a_late_413_may_finish_its_response() -> None:
    async def careful(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        with pytest.raises(HTTPException):
            await read_all(receive)
        await send({"type": "http.response.body", "body": b"stopped reading"})

    result, _ = await post_chunks(RequestBodyLimitMiddleware(careful, 3), [b"abcd"])
    assert result.status == 200
    assert result.messages[1]["body"] == b"stopped reading"


async def test_app_errors_unrelated_to_the_limit_propagate() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(413, "the app's own")

    app = RequestBodyLimitMiddleware(broken, max_body_size=3)
    with pytest.raises(HTTPException, match="the app's own"):
        await post_chunks(app, [b"a"])


async def test_disconnect_and_other_scopes_pass() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        await send({"type": "seen", "message": message, "scope": scope["type"]})

    disconnect: Message = {"type": "http.disconnect"}
    middleware = RequestBodyLimitMiddleware(app, max_body_size=0)
    sent = await call(middleware, make_scope("POST"), queue_receive([disconnect]))
    sent += await call(middleware, websocket_scope(), queue_receive([disconnect]))
    assert [m["message"]["type"] for m in sent] == ["http.disconnect"] * 2
    assert [m["scope"] for m in sent] == ["http", "websocket"]


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        RequestBodyLimitMiddleware(count_body, max_body_size=-1)


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
        await count_body(scope, receive, send)

    outer_limits = RequestLimits(max_fields=5)
    scope = make_scope("POST", **{MAX_BODY_SIZE_SCOPE_KEY: 99, LIMITS_KEY: outer_limits})
    await call(RequestBodyLimitMiddleware(app, 10), scope, body_receive(b"ab"))
    await call(RequestBodyLimitMiddleware(app, None), scope, body_receive(b"ab"))
    assert seen == [(10, 10), (None, None)]
    assert scope[MAX_BODY_SIZE_SCOPE_KEY] == 99  # restored
    assert scope[LIMITS_KEY] is outer_limits

    bare = make_scope("POST")
    await call(RequestBodyLimitMiddleware(app, 10), bare, body_receive(b"ab"))
    assert MAX_BODY_SIZE_SCOPE_KEY not in bare
    assert LIMITS_KEY not in bare

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom

    with pytest.raises(Boom):
        await call(RequestBodyLimitMiddleware(failing, 10), scope, body_receive(b"ab"))
    assert scope[MAX_BODY_SIZE_SCOPE_KEY] == 99


@pytest.mark.parametrize("inner", [5, 100])
async def test_a_limit_set_deeper_under_the_key_is_honoured(inner: int) -> None:
    """What a Starlette router or route does: set the key, restore it afterwards."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        previous = scope[MAX_BODY_SIZE_SCOPE_KEY]
        scope[MAX_BODY_SIZE_SCOPE_KEY] = inner
        try:
            await count_body(scope, receive, send)
        finally:
            scope[MAX_BODY_SIZE_SCOPE_KEY] = previous

    app = RequestBodyLimitMiddleware(route, max_body_size=10)
    result, _ = await post_chunks(app, [b"x" * 50], b"50")
    assert result.status == (413 if inner == 5 else 200)
    result, _ = await post_chunks(app, [b"x" * 8])
    assert result.status == (413 if inner == 5 else 200)


async def test_the_responder_is_an_asgi_app_for_one_request() -> None:
    responder = RequestBodyLimitResponder(count_body, 4)
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.scope  # noqa: B018
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.receive  # noqa: B018
    with pytest.raises(AssertionError, match="call the responder first"):
        responder.send  # noqa: B018
    result, _ = await post_chunks(responder, [b"ab", b"cd"], b"4")
    assert result.messages[1]["body"] == b"got 4"
    assert (responder.total_size, responder.content_length) == (4, 4)
    assert responder.response_started is True
    assert responder.scope["type"] == "http"

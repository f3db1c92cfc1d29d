"""BaseHTTPMiddleware: streaming, background tasks, context variables, disconnects,
body replay and exceptions."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from types import AsyncGeneratorType
from typing import Any

import anyio
import pytest
from asgi_driver import Result, make_scope

from asgi_core.background import BackgroundTask
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from asgi_responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Server:
    """receive: the body chunks, then http.disconnect once ``disconnect`` is set (by
    default: when the response is complete). send: records messages into ``result``."""

    def __init__(self, body: list[bytes] | None = None) -> None:
        chunks = body or [b""]
        self.incoming: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        self.result = Result()
        self.disconnect = anyio.Event()
        self.send_error: Exception | None = None

    async def receive(self) -> Message:
        if self.incoming:
            return self.incoming.pop(0)
        if not self.disconnect.is_set():  # like servers: no checkpoint when ready
            await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.send_error is not None and message["type"] == "http.response.body":
            raise self.send_error
        self.result.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.disconnect.set()

    async def run(self, app: ASGIApp, scope: Scope | None = None) -> Result:
        with anyio.fail_after(10):  # a hang fails the test instead of blocking the suite
            await app(scope or make_scope(), self.receive, self.send)
        return self.result


async def add_header(request: Request, call_next: RequestResponseEndpoint) -> Response:
    response = await call_next(request)
    response.headers["X-Middleware"] = "yes"
    return response


async def test_dispatch_can_change_the_apps_response() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse("hello")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        await response(scope, receive, send)

    wrapped = BaseHTTPMiddleware(app, dispatch=add_header)
    response = await AsyncTestClient(wrapped).get("/")
    assert response.status_code == 200
    assert response.text == "hello"
    assert response.headers["x-middleware"] == "yes"
    assert response.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]


async def test_subclass_overrides_dispatch() -> None:
    class Timing(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            response = await call_next(request)
            response.headers["X-Subclass"] = request.url.path
            return response

    server = Server()
    result = await server.run(Timing(PlainTextResponse("ok")))
    assert (b"x-subclass", b"/") in result.raw_headers
    assert result.body == b"ok"


async def test_dispatch_must_be_provided() -> None:
    with pytest.raises(NotImplementedError, match=r"Override BaseHTTPMiddleware\.dispatch"):
        await Server().run(BaseHTTPMiddleware(PlainTextResponse("ok")))


async def test_dispatch_may_answer_without_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        return PlainTextResponse("short-circuit", status_code=401)

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, dispatch))
    assert (result.status, result.body) == (401, b"short-circuit")


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_go_straight_to_the_app(kind: str) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        raise AssertionError("not called")

    await Server().run(BaseHTTPMiddleware(app, dispatch), {"type": kind})
    assert seen == [kind]


async def test_the_body_streams_without_buffering() -> None:
    server = Server()
    first_chunk_sent = anyio.Event()
    original_send = server.send

    async def send(message: Message) -> None:
        await original_send(message)
        if message.get("body") == b"first":
            first_chunk_sent.set()

    server.send = send  # type: ignore[method-assign]

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first"
        await first_chunk_sent.wait()  # only reached if the middleware forwards chunk 1
        yield b"second"

    result = await server.run(BaseHTTPMiddleware(StreamingResponse(chunks()), add_header))
    assert [m.get("body") for m in result.messages[1:]] == [b"first", b"second", b""]
    assert (b"x-middleware", b"yes") in result.raw_headers


async def test_background_tasks_of_the_apps_response_run() -> None:
    done: list[str] = []

    async def task(name: str) -> None:
        done.append(name)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("ok", background=BackgroundTask(task, "inner"))(
            scope, receive, send
        )

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.background = BackgroundTask(task, "outer")
        return response

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, dispatch))
    assert result.body == b"ok"
    assert sorted(done) == ["inner", "outer"]


async def test_context_variables_flow_from_dispatch_to_the_app_only() -> None:
    seen: dict[str, str] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["app"] = request_id.get()
        request_id.set("set-by-app")
        await PlainTextResponse("ok")(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id.set("abc123")
        response = await call_next(request)
        seen["dispatch after"] = request_id.get()
        return response

    await Server().run(BaseHTTPMiddleware(app, dispatch))
    assert seen == {"app": "abc123", "dispatch after": "abc123"}


async def test_the_body_read_in_dispatch_reaches_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await JSONResponse({"app": (await request.body()).decode()})(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        body = await request.body()
        response = await call_next(request)
        response.headers["X-Length"] = str(len(body))
        return response

    server = Server([b"hello ", b"wor", b"ld"])
    result = await server.run(BaseHTTPMiddleware(app, dispatch), make_scope("POST"))
    assert result.body == b'{"app":"hello world"}'
    assert (b"x-length", b"11") in result.raw_headers


async def test_a_body_partly_streamed_in_dispatch_is_replayed_then_continued() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = [chunk async for chunk in Request(scope, receive).stream()]
        await PlainTextResponse(b"|".join(body))(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        message = await request.receive()  # dispatch reads the first chunk only
        assert message["body"] == b"one"
        return await call_next(request)

    server = Server([b"one", b"two", b"three"])
    result = await server.run(BaseHTTPMiddleware(app, dispatch), make_scope("POST"))
    assert result.body == b"one|two|three|"


async def test_a_body_too_large_to_replay_is_an_error_for_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()
        raise AssertionError("unreachable")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        total = sum([len(chunk) async for chunk in request.stream()])
        assert total == 12
        return await call_next(request)

    scope = make_scope(
        "POST", host="testserver", **{LIMITS_KEY: RequestLimits(max_buffered_size=5)}
    )
    with pytest.raises(RuntimeError, match="too large to replay"):
        await Server([b"abcd", b"efgh", b"ijkl"]).run(BaseHTTPMiddleware(app, dispatch), scope)


async def test_an_app_error_before_the_response_is_raised_by_call_next() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError("inner failure")

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        try:
            return await call_next(request)
        except ValueError as exc:
            return PlainTextResponse(f"caught {exc}", status_code=502)

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, dispatch))
    assert (result.status, result.body) == (502, b"caught inner failure")


async def test_an_app_error_while_streaming_propagates() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise ValueError("mid-stream failure")

    server = Server()
    with pytest.raises(ValueError, match="mid-stream failure"):
        await server.run(BaseHTTPMiddleware(app, add_header))
    assert server.result.body == b"partial"


async def test_an_error_in_a_background_task_propagates() -> None:
    async def fail() -> None:
        raise ValueError("background failure")

    app = PlainTextResponse("ok", background=BackgroundTask(fail))
    server = Server()
    with pytest.raises(ValueError, match="background failure"):
        await server.run(BaseHTTPMiddleware(app, add_header))
    assert server.result.body == b"ok"


async def test_an_error_in_dispatch_propagates() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        raise KeyError("dispatch failure")

    with pytest.raises(KeyError, match="dispatch failure"):
        await Server().run(BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch))


async def test_no_response_returned() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    with pytest.raises(RuntimeError, match=r"^No response returned\.$"):
        await Server().run(BaseHTTPMiddleware(app, add_header))


async def test_a_body_before_the_start_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    with pytest.raises(RuntimeError, match=r'Expected the app to send "http\.response\.start"'):
        await Server().run(BaseHTTPMiddleware(app, add_header))


async def test_call_next_only_once() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return await call_next(request)

    with pytest.raises(RuntimeError, match="only be called once"):
        await Server().run(BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch))


async def test_other_messages_and_empty_chunks_are_skipped() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.debug", "info": {}})
        await send({"type": "http.response.body", "body": b"data", "more_body": True})
        await send({"type": "http.response.body", "body": b"end"})

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, add_header))
    assert result.status == 201
    assert result.raw_headers == [(b"x-a", b"1"), (b"x-middleware", b"yes")]
    assert [m.get("body") for m in result.messages[1:]] == [b"data", b"end", b""]


async def test_an_app_that_stops_without_finishing_its_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"cut", "more_body": True})

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, add_header))
    assert result.body == b"cut"
    assert result.messages[-1] == {
        "type": "http.response.body",
        "body": b"",
        "more_body": False,
    }


def endless(closed: list[str]) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
                await anyio.sleep(0)
        finally:
            closed.append("closed")

    return StreamingResponse(chunks())


async def test_a_client_disconnect_mid_stream_stops_the_app() -> None:
    closed: list[str] = []
    server = Server()
    original_send = server.send

    async def send(message: Message) -> None:
        await original_send(message)
        if len(server.result.messages) == 4:
            server.disconnect.set()  # the client goes away after three chunks

    server.send = send  # type: ignore[method-assign]
    result = await server.run(BaseHTTPMiddleware(endless(closed), add_header))
    assert closed == ["closed"]
    assert result.body.startswith(b"tick" * 3)


async def test_a_failing_send_mid_stream_stops_the_app() -> None:
    closed: list[str] = []
    server = Server()
    server.send_error = ConnectionResetError("client gone")
    result = await server.run(BaseHTTPMiddleware(endless(closed), add_header))
    assert closed == ["closed"]
    assert [m["type"] for m in result.messages] == ["http.response.start"]


async def test_a_discarded_app_response_is_cancelled() -> None:
    closed: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await call_next(request)
        return PlainTextResponse("replaced")

    server = Server()
    result = await server.run(BaseHTTPMiddleware(endless(closed), dispatch))
    assert result.body == b"replaced"
    assert closed == ["closed"]


async def test_a_wrapped_stream_sees_the_disconnect_the_app_read() -> None:
    """dispatch re-wraps the body; its response waits for the app to see the
    disconnect (the app owns the request body) instead of stealing body messages."""
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        log.append((await receive())["type"])
        log.append((await receive())["type"])
        log.append((await receive())["type"])  # the disconnect is remembered
        await send({"type": "http.response.body", "body": b"b"})

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        return StreamingResponse(
            response.body_iterator, background=BackgroundTask(log.append, "bg")
        )

    server = Server([b"payload"])
    original_send = server.send

    async def send(message: Message) -> None:
        await original_send(message)
        if message.get("body") == b"a":
            server.disconnect.set()

    server.send = send  # type: ignore[method-assign]
    await server.run(BaseHTTPMiddleware(app, dispatch), make_scope("POST"))
    assert log[:3] == ["http.request", "http.disconnect", "http.disconnect"]
    assert log[-1] == "bg"


async def test_concurrent_watchers_share_one_disconnect() -> None:
    """The app and the response both wait for the disconnect: the server's receive is
    called once at a time, and both get the disconnect."""
    seen: list[str] = []
    server = Server([b"payload"])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        assert (await receive())["body"] == b"payload"  # replayed
        seen.append("app: " + (await receive())["type"])  # waits for the disconnect
        await send({"type": "http.response.body", "body": b"done"})

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        await request.body()
        response = await call_next(request)
        return StreamingResponse(response.body_iterator)

    async def receive() -> Message:
        if server.incoming:
            return server.incoming.pop(0)
        seen.append("server receive")
        await anyio.wait_all_tasks_blocked()  # the response's watcher now waits too
        return {"type": "http.disconnect"}

    with anyio.fail_after(10):
        await BaseHTTPMiddleware(app, dispatch)(make_scope("POST"), receive, server.send)
    assert seen == ["server receive", "app: http.disconnect"]


async def test_is_disconnected_in_dispatch() -> None:
    states: list[bool] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        states.append(await request.is_disconnected())  # peeks the body message
        body = await request.body()
        states.append(await request.is_disconnected())  # the disconnect is there
        states.append(await request.is_disconnected())  # and remembered
        return PlainTextResponse(body)

    server = Server([b"data"])
    server.disconnect.set()
    result = await server.run(
        BaseHTTPMiddleware(PlainTextResponse("unused"), dispatch),
        make_scope("POST"),
    )
    assert states == [False, True, True]
    assert result.body == b"data"


# --- #19: Starlette 1.10 behaviours ---------------------------------------------------


async def test_reading_the_body_after_the_app_consumed_it_raises() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        await PlainTextResponse(body.decode())(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        with pytest.raises(RuntimeError, match="Stream consumed"):
            async for _ in request.stream():
                pass  # pragma: no cover - raises first
        seen.append("raised")
        return response

    server = Server([b"pay", b"load"])
    result = await server.run(BaseHTTPMiddleware(app, dispatch))
    assert result.body == b"payload"
    assert seen == ["raised"]


async def test_the_body_is_readable_after_call_next_when_the_app_did_not_read_it() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-body"] = (await request.body()).decode()
        return response

    server = Server([b"pay", b"load"])
    result = await server.run(BaseHTTPMiddleware(PlainTextResponse("ok"), dispatch))
    assert (b"x-body", b"payload") in result.raw_headers


async def test_background_tasks_run_after_the_final_body_was_sent() -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse("hi", background=BackgroundTask(log.append, "app task"))
        await response(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.background = BackgroundTask(log.append, "dispatch task")
        return response

    server = Server()
    original = server.send

    async def send(message: Message) -> None:
        await anyio.sleep(0.01)  # a slow client: the app's task must still wait
        await original(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            log.append("final body sent")

    server.send = send  # type: ignore[method-assign]
    await server.run(BaseHTTPMiddleware(app, dispatch))
    assert log == ["final body sent", "dispatch task", "app task"]


async def test_pathsend_passes_through_unchanged() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/srv/file.bin"})

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, add_header))
    assert [m["type"] for m in result.messages] == [
        "http.response.start",
        "http.response.pathsend",
    ]
    assert result.messages[1] == {"type": "http.response.pathsend", "path": "/srv/file.bin"}
    assert (b"x-middleware", b"yes") in result.raw_headers


async def test_the_body_iterator_is_an_async_generator() -> None:
    closed: list[str] = []

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        iterator = response.body_iterator
        assert isinstance(iterator, AsyncGeneratorType)
        first = await iterator.__anext__()
        await iterator.aclose()
        return PlainTextResponse(f"first: {first!r}")

    server = Server()
    result = await server.run(BaseHTTPMiddleware(endless(closed), dispatch))
    assert result.body == b"first: b'tick'"
    assert closed == ["closed"]


async def test_dispatch_may_stream_text_and_messages_of_its_own() -> None:
    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        original = response.body_iterator

        async def text() -> AsyncIterator[Any]:
            async for chunk in original:
                yield chunk.decode().upper() if isinstance(chunk, bytes) else chunk
            yield memoryview(b"!")

        response.body_iterator = text()
        return response

    server = Server()
    result = await server.run(BaseHTTPMiddleware(PlainTextResponse("shout"), dispatch))
    assert result.body == b"SHOUT!"


async def test_early_hints_and_debug_info_pass_through() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]})
        await send({"type": "http.response.debug", "info": {"template": "t.html"}})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, add_header))
    assert [m["type"] for m in result.messages] == [
        "http.response.early_hint",
        "http.response.debug",
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert result.messages[1]["info"] == {"template": "t.html"}


async def test_a_client_disconnect_while_sending_reaches_the_app() -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await receive()  # the request body
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
        except OSError:
            log.append("send raised OSError")
        log.append((await receive())["type"])

    server = Server()
    server.send_error = ConnectionResetError("client gone")
    await server.run(BaseHTTPMiddleware(app, add_header))
    assert log == ["send raised OSError", "http.disconnect"]


async def test_an_app_ignoring_the_disconnect_error_is_not_a_server_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"x", "more_body": True})

    server = Server()
    server.send_error = ConnectionResetError("client gone")
    result = await server.run(BaseHTTPMiddleware(app, add_header))
    assert [m["type"] for m in result.messages] == ["http.response.start"]


async def test_context_set_by_the_app_stays_in_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen = request_id.get()
        request_id.set("app")
        await PlainTextResponse(seen)(scope, receive, send)

    async def dispatch(request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id.set("dispatch")
        response = await call_next(request)
        response.headers["x-after"] = request_id.get()
        return response

    server = Server()
    result = await server.run(BaseHTTPMiddleware(app, dispatch))
    assert result.body == b"dispatch"
    assert (b"x-after", b"dispatch") in result.raw_headers

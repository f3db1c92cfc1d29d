"""request_response and websocket_session apply the exception handlers an application
published in the scope (Starlette 1.10's "starlette.exception_handlers" contract)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_driver import Boom, body_receive, make_scope, recorder, run, run_websocket

from asgi_core.background import BackgroundTask
from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_responses import PlainTextResponse, Response, StreamingResponse
from asgi_routing import Route, Router, WebSocketRoute, request_response, websocket_session

pytestmark = pytest.mark.anyio

KEY = "starlette.exception_handlers"


def publishing(app: ASGIApp, by_class: dict[Any, Any], by_status: dict[int, Any]) -> ASGIApp:
    """What an application does: publish its handlers, then route."""

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        scope[KEY] = (by_class, by_status)
        await app(scope, receive, send)

    return outer


async def echo_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled {type(exc).__name__}: {await request.body()!r}", 409)


@pytest.mark.parametrize("sync", [False, True])
async def test_the_handler_gets_the_endpoints_request_and_rereads_the_body(sync: bool) -> None:
    seen: list[Request] = []

    async def endpoint(request: Request) -> Response:
        seen.append(request)
        await request.body()
        raise Boom()

    def sync_endpoint(request: Request) -> Response:
        seen.append(request)
        raise Boom()

    def handler(request: Request, exc: Exception) -> Response:
        seen.append(request)
        return PlainTextResponse("sync handler", status_code=418)

    async def async_handler(request: Request, exc: Exception) -> Response:
        seen.append(request)
        return await echo_handler(request, exc)

    if sync:
        app = publishing(request_response(sync_endpoint), {Boom: handler}, {})
        result = await run(app, "POST", body=b"payload")
        assert result.status == 418
    else:
        app = publishing(request_response(endpoint), {Exception: async_handler}, {})
        result = await run(app, "POST", body=b"payload")
        assert (result.status, result.body) == (409, b"handled Boom: b'payload'")
    assert seen[0] is seen[1]


async def test_status_handlers_win_then_classes_along_the_mro() -> None:
    async def by_status(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("by status", status_code=404)

    async def by_class(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("by class", status_code=400)

    def raising(exc: Exception) -> ASGIApp:
        async def endpoint(request: Request) -> Response:
            raise exc

        return publishing(request_response(endpoint), {HTTPException: by_class}, {404: by_status})

    assert (await run(raising(HTTPException(404)))).body == b"by status"
    assert (await run(raising(HTTPException(400)))).body == b"by class"


@pytest.mark.parametrize("published", [False, True])
async def test_without_a_handler_the_exception_propagates(published: bool) -> None:
    async def endpoint(request: Request) -> Response:
        raise Boom()

    app = request_response(endpoint)
    if published:
        app = publishing(app, {ValueError: echo_handler}, {500: echo_handler})
    result, send = recorder()
    with pytest.raises(Boom):
        await app(make_scope(), body_receive(b""), send)
    assert result.messages == []


async def test_a_handler_returning_none_is_an_error() -> None:
    async def endpoint(request: Request) -> Response:
        raise Boom()

    async def handler(request: Request, exc: Exception) -> None:
        return None

    app = publishing(request_response(endpoint), {Boom: handler}, {})
    with pytest.raises(RuntimeError, match="returned no response") as raised:
        await run(app, body=b"")
    assert isinstance(raised.value.__cause__, Boom)


async def test_a_handled_exception_leaves_no_traceback_to_grow() -> None:
    reused = Boom()

    async def endpoint(request: Request) -> Response:
        raise reused

    app = publishing(request_response(endpoint), {Boom: echo_handler}, {})
    for _ in range(2):
        assert (await run(app, body=b"")).status == 409
        assert reused.__traceback__ is None


async def test_middleware_around_the_route_sees_the_handlers_response() -> None:
    seen: list[int] = []

    def watching(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            async def watch(message: Message) -> None:
                if message["type"] == "http.response.start":
                    seen.append(message["status"])
                await send(message)

            await app(scope, receive, watch)

        return middleware

    async def endpoint(request: Request) -> Response:
        raise HTTPException(403)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("no", status_code=403)

    router = Router([Route("/", endpoint, middleware=[(watching, (), {})])])
    result = await run(publishing(router, {}, {403: forbidden}))
    assert (result.status, seen) == (403, [403])


class _FailsBeforeStarting(Response):
    """A response class with its own ``__call__`` that fails before sending anything."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom()


def fail() -> None:
    raise Boom()


async def chunks() -> AsyncIterator[bytes]:
    yield b"first"
    raise Boom()


@pytest.mark.parametrize(
    "make",
    [
        lambda: PlainTextResponse("sent", background=BackgroundTask(fail)),
        _FailsBeforeStarting,
        lambda: StreamingResponse(chunks()),
    ],
    ids=["background", "before-start", "mid-stream"],
)
async def test_what_sending_the_response_raises_goes_out_to_the_application(make: Any) -> None:
    # The application's ExceptionMiddleware knows whether the response started.
    async def endpoint(request: Request) -> Response:
        return make()  # type: ignore[no-any-return]

    app = publishing(request_response(endpoint), {Boom: echo_handler}, {})
    with pytest.raises(Boom):
        await app(make_scope(), body_receive(b""), recorder()[1])


def denial_extensions() -> dict[str, Any]:
    return {"extensions": {"websocket.http.response": {}}}


async def test_a_websocket_handler_gets_the_endpoints_websocket_and_may_deny() -> None:
    seen: list[WebSocket] = []

    async def endpoint(websocket: WebSocket) -> None:
        seen.append(websocket)
        raise HTTPException(401, "who?")

    async def handler(websocket: WebSocket, exc: Exception) -> Response:
        seen.append(websocket)
        return PlainTextResponse("who?", status_code=401)

    app = publishing(websocket_session(endpoint), {}, {401: handler})
    sent = await run_websocket(app, "/", **denial_extensions())
    assert seen[0] is seen[1]
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 401
    assert sent[1]["body"] == b"who?"


async def test_a_websocket_handler_may_answer_by_itself() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        raise Boom()

    def handler(websocket: WebSocket, exc: Exception) -> None:
        assert isinstance(websocket, WebSocket)

    async def closing(websocket: WebSocket, exc: Exception) -> None:
        await websocket.close(code=4000)

    sent = await run_websocket(publishing(websocket_session(endpoint), {Boom: handler}, {}))
    assert [m["type"] for m in sent] == ["websocket.accept"]
    router = Router([WebSocketRoute("/", endpoint)])
    sent = await run_websocket(publishing(router, {Exception: closing}, {}))
    assert sent[-1] == {"type": "websocket.close", "code": 4000, "reason": ""}


@pytest.mark.parametrize("published", [False, True])
async def test_an_unhandled_websocket_error_propagates(published: bool) -> None:
    async def endpoint(websocket: WebSocket) -> None:
        raise Boom()

    app = websocket_session(endpoint)
    if published:
        app = publishing(app, {KeyError: echo_handler}, {})
    with pytest.raises(Boom):
        await run_websocket(app)

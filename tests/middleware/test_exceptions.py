"""ExceptionMiddleware: handlers by status code and exception class."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from asgi_driver import body_receive, call, make_scope, queue_receive, recorder, run, run_websocket

from asgi_core.exceptions import HTTPException, WebSocketException
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_middleware.errors import ServerErrorMiddleware
from asgi_middleware.exceptions import EXCEPTION_HANDLERS_SCOPE_KEY, ExceptionMiddleware
from asgi_responses import JSONResponse, PlainTextResponse, Response

pytestmark = pytest.mark.anyio


def raising(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


async def test_http_exception_gives_plain_text_with_its_headers() -> None:
    exc = HTTPException(401, "Who are you?", headers={"WWW-Authenticate": "Bearer"})
    result = await run(ExceptionMiddleware(raising(exc)), body=b"")
    assert result.status == 401
    assert (b"www-authenticate", b"Bearer") in result.raw_headers
    assert (b"content-type", b"text/plain; charset=utf-8") in result.raw_headers
    assert result.body == b"Who are you?"


@pytest.mark.parametrize("status", [204, 304])
async def test_no_body_statuses_get_no_body(status: int) -> None:
    exc = HTTPException(status, headers={"ETag": '"v1"'})
    result = await run(ExceptionMiddleware(raising(exc)), body=b"")
    assert result.status == status
    assert (b"etag", b'"v1"') in result.raw_headers
    assert result.body == b""
    assert not any(name == b"content-type" for name, _ in result.raw_headers)


@pytest.mark.parametrize("kind", ["sync", "async", "partial"])
async def test_status_code_handler_wins_for_http_exceptions(kind: str) -> None:
    calls: list[tuple[str, Any]] = []

    def sync_handler(request: Request, exc: Exception, tag: str = "sync") -> Response:
        calls.append((request.url.path, exc))
        return JSONResponse({"missing": True, "tag": tag}, status_code=404)

    async def async_handler(request: Request, exc: Exception) -> Response:
        return sync_handler(request, exc, "async")

    handlers = {
        "sync": sync_handler,
        "async": async_handler,
        "partial": functools.partial(async_handler),
    }
    exc = HTTPException(404)
    app = ExceptionMiddleware(raising(exc), handlers={404: handlers[kind]})
    result = await run(app, body=b"")
    assert calls == [("/", exc)]
    assert result.status == 404
    assert b'"missing":true' in result.body


async def test_class_handlers_match_along_the_mro() -> None:
    class AppError(Exception):
        pass

    class NotEnoughCoffee(AppError):
        pass

    async def handler(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"handled {type(exc).__name__}", status_code=418)

    app = ExceptionMiddleware(raising(NotEnoughCoffee()))
    app.add_exception_handler(AppError, handler)
    result = await run(app, body=b"")
    assert result.status == 418
    assert result.body == b"handled NotEnoughCoffee"


async def test_an_http_exception_without_a_status_handler_uses_the_class_handler() -> None:
    async def handler(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("custom", status_code=400)

    app = ExceptionMiddleware(
        raising(HTTPException(400)), handlers={HTTPException: handler, 500: handler}
    )
    result = await run(app, body=b"")
    assert result.body == b"custom"


async def test_unhandled_exceptions_propagate() -> None:
    result, send = recorder()
    with pytest.raises(KeyError):
        await ExceptionMiddleware(raising(KeyError("x")))(make_scope(), body_receive(b""), send)
    assert result.messages == []


async def test_handled_exception_after_the_response_started() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(400)

    result, send = recorder()
    with pytest.raises(RuntimeError, match=r"^Caught handled exception, but response already"):
        await ExceptionMiddleware(app)(make_scope(), body_receive(b""), send)
    assert len(result.messages) == 1


async def test_a_handler_that_returns_nothing_is_an_error() -> None:
    def handler(request: Request, exc: Exception) -> None:
        return None

    app = ExceptionMiddleware(raising(ValueError()), handlers={ValueError: handler})
    with pytest.raises(RuntimeError, match="returned no response") as raised:
        await run(app, body=b"")
    assert isinstance(raised.value.__cause__, ValueError)


async def test_successful_responses_pass_through() -> None:
    result = await run(ExceptionMiddleware(PlainTextResponse("ok")), body=b"")
    assert result.status == 200
    assert result.body == b"ok"


async def test_websocket_exception_closes_with_code_and_reason() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        raise WebSocketException(4001, "bad token")

    sent = await run_websocket(ExceptionMiddleware(app))
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
    assert sent[-1] == {"type": "websocket.close", "code": 4001, "reason": "bad token"}


async def test_http_exception_on_a_websocket_refuses_it() -> None:
    sent = await run_websocket(ExceptionMiddleware(raising(HTTPException(403))))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


DENIAL = {"extensions": {"websocket.http.response": {}}}


@pytest.mark.parametrize(
    ("exc", "body"),
    [
        (HTTPException(403, "No entry", headers={"X-Why": "origin"}), b"No entry"),
        (HTTPException(204), b""),
    ],
)
async def test_http_exception_before_accept_is_a_denial_response(
    exc: HTTPException, body: bytes
) -> None:
    sent = await run_websocket(ExceptionMiddleware(raising(exc)), "/", **DENIAL)
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == exc.status_code
    assert ((b"x-why", b"origin") in sent[0]["headers"]) is (exc.headers is not None)
    assert sent[1]["body"] == body


def websocket_app(*messages: Message, exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        raise exc

    return app


ACCEPT: Message = {"type": "websocket.accept"}
CLOSE: Message = {"type": "websocket.close", "code": 1000, "reason": ""}
DENY: Message = {"type": "websocket.http.response.start", "status": 401, "headers": []}
DENY_BODY: Message = {"type": "websocket.http.response.body", "body": b""}


@pytest.mark.parametrize("exc", [HTTPException(403), WebSocketException(4003)])
async def test_after_accept_an_exception_closes_the_websocket(exc: Exception) -> None:
    sent = await run_websocket(ExceptionMiddleware(websocket_app(ACCEPT, exc=exc)), "/", **DENIAL)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
    assert sent[-1]["code"] == (1008 if isinstance(exc, HTTPException) else 4003)


@pytest.mark.parametrize("exc", [HTTPException(403), WebSocketException(4003)])
@pytest.mark.parametrize("messages", [(ACCEPT, CLOSE), (CLOSE,), (DENY, DENY_BODY)])
async def test_a_closed_or_denied_websocket_gets_nothing_more(
    exc: Exception, messages: tuple[Message, ...]
) -> None:
    app = ExceptionMiddleware(websocket_app(*messages, exc=exc))
    sent = await run_websocket(app, "/", **DENIAL)
    assert sent == list(messages)


async def test_a_websocket_handler_may_return_a_denial_response() -> None:
    async def handler(websocket: WebSocket, exc: Exception) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    app = ExceptionMiddleware(raising(ValueError()), handlers={ValueError: handler})
    sent = await run_websocket(app, "/", **DENIAL)
    assert [(m["type"], m.get("status")) for m in sent] == [
        ("websocket.http.response.start", 418),
        ("websocket.http.response.body", None),
    ]


async def test_unhandled_websocket_exceptions_propagate() -> None:
    with pytest.raises(KeyError):
        await run_websocket(ExceptionMiddleware(raising(KeyError("x"))))


@pytest.mark.parametrize("scope_type", ["http", "websocket"])
async def test_the_handlers_are_published_in_the_scope(scope_type: str) -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope[EXCEPTION_HANDLERS_SCOPE_KEY])
        await PlainTextResponse("ok")(scope, receive, send)

    async def teapot(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    middleware = ExceptionMiddleware(app, handlers={418: teapot, KeyError: teapot})
    if scope_type == "http":
        await run(middleware, body=b"")
    else:
        await run_websocket(middleware, "/", **DENIAL)
    assert EXCEPTION_HANDLERS_SCOPE_KEY == "starlette.exception_handlers"
    by_class, by_status = seen[0]
    assert by_status == {418: teapot}
    assert by_class[KeyError] is teapot
    assert by_class[HTTPException] == middleware.http_exception
    assert by_class[WebSocketException] == middleware.websocket_exception


async def test_websocket_handlers_receive_the_websocket() -> None:
    seen: list[Any] = []

    def handler(websocket: WebSocket, exc: Exception) -> None:
        seen.append((type(websocket), websocket.url.path, exc))

    exc = ValueError("x")
    app = ExceptionMiddleware(raising(exc), handlers={ValueError: handler})
    await run_websocket(app)
    assert seen == [(WebSocket, "/", exc)]


async def test_lifespan_passes_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if len(seen) == 2:
            raise HTTPException(500)

    app_with_handlers = ExceptionMiddleware(app)
    await call(app_with_handlers, {"type": "lifespan"}, queue_receive([]))
    with pytest.raises(HTTPException):
        await call(app_with_handlers, {"type": "lifespan"}, queue_receive([]))
    assert seen == ["lifespan", "lifespan"]


def test_a_bad_handler_key_is_refused() -> None:
    app = ExceptionMiddleware(PlainTextResponse("ok"), debug=True)
    assert app.debug is True
    with pytest.raises(TypeError, match="int status code or an exception class"):
        app.add_exception_handler("404", lambda request, exc: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        app.add_exception_handler(str, lambda request, exc: None)  # type: ignore[arg-type]


def passing_on(app: ASGIApp) -> ASGIApp:
    """A middleware that hands the app the very send it got."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return middleware


async def test_behind_server_error_middleware_with_a_layer_between() -> None:
    async def handled(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(404)

    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(404)

    app = ServerErrorMiddleware(passing_on(ExceptionMiddleware(handled)))
    result = await run(app, body=b"")
    assert (result.status, result.body) == (404, b"Not Found")

    result, send = recorder()
    app = ServerErrorMiddleware(passing_on(ExceptionMiddleware(late)))
    with pytest.raises(RuntimeError, match=r"^Caught handled exception, but response already"):
        await app(make_scope(), body_receive(b""), send)
    assert [m["type"] for m in result.messages] == ["http.response.start"]

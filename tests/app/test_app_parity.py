"""App parity with Starlette 1.10 (issue #18): generator lifespans, exception handlers
applied where the route runs, url_for before routing, WebSocket denial responses,
max_body_size without a body read."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgi_driver import run_lifespan, run_websocket

from asgi_app import (
    App,
    HTTPException,
    Middleware,
    Mount,
    PlainTextResponse,
    Request,
    Route,
    WebSocket,
    WebSocketRoute,
)
from asgi_core.exceptions import ASGIDeprecationWarning
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_testkit import AsyncTestClient
from asgi_testkit.testclient import WebSocketDenialResponse

pytestmark = pytest.mark.anyio


class StatusRecorder:
    """Middleware that records the status of every response it sees go out."""

    def __init__(self, app: ASGIApp, seen: list[int]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)


async def test_an_async_generator_lifespan_works_with_a_deprecation_warning() -> None:
    events: list[str] = []

    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hi"}
        events.append("shutdown")

    with pytest.warns(ASGIDeprecationWarning, match="^async generator function lifespans are"):
        app = App(lifespan=lifespan)  # type: ignore[arg-type]
    state: dict[str, Any] = {}
    sent, error = await run_lifespan(app, state=state)
    assert error is None
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["startup", "shutdown"]
    assert state == {"greeting": "hi"}


async def test_a_generator_lifespan_works_with_a_deprecation_warning() -> None:
    events: list[Any] = []

    def lifespan(app: App) -> Iterator[None]:
        events.append(app)
        yield
        events.append("shutdown")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = App(lifespan=lifespan)  # type: ignore[arg-type]
    assert [w.category for w in caught] == [ASGIDeprecationWarning]
    assert str(caught[0].message).startswith("generator function lifespans are deprecated")
    assert caught[0].filename == __file__  # points at the App(...) call
    async with AsyncTestClient(app):
        assert events == [app]
    assert events == [app, "shutdown"]


@pytest.mark.parametrize("sync", [False, True])
async def test_the_handler_rereads_the_body_the_endpoint_read(sync: bool) -> None:
    async def endpoint(request: Request) -> PlainTextResponse:
        await request.body()
        raise ValueError("bad")

    def sync_endpoint(request: Request) -> PlainTextResponse:
        raise ValueError("bad")

    async def handler(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(f"{exc}: {(await request.body()).decode()}", status_code=422)

    app = App(
        routes=[Route("/", sync_endpoint if sync else endpoint, methods=["POST"])],
        exception_handlers={ValueError: handler},
    )
    async with AsyncTestClient(app) as client:
        response = await client.post("/", content=b"payload")
    assert (response.status_code, response.text) == (422, "bad: payload")


async def test_mount_and_route_middleware_see_the_handlers_response() -> None:
    mount_seen: list[int] = []
    route_seen: list[int] = []

    async def forbidden(request: Request) -> PlainTextResponse:
        raise HTTPException(403, "no")

    async def handler(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("custom 403", status_code=403)

    app = App(
        routes=[
            Mount(
                "/api",
                routes=[Route("/x", forbidden)],
                middleware=[Middleware(StatusRecorder, seen=mount_seen)],
            ),
            Route("/y", forbidden, middleware=[Middleware(StatusRecorder, seen=route_seen)]),
        ],
        exception_handlers={403: handler},
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/x")).text == "custom 403"
        assert (await client.get("/y")).text == "custom 403"
        # raised outside any route (the mount's router 404s): handled by the application,
        # outside the mount's middleware, as in Starlette
        assert (await client.get("/api/missing")).status_code == 404
    assert mount_seen == [403]
    assert route_seen == [403]


class LinkHeader:
    """Middleware that calls url_for before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        link = str(Request(scope).url_for("user", user_id=7))

        async def linked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"link", link.encode())]
            await send(message)

        await self.app(scope, receive, linked)


async def user(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(request.url_for("user", user_id=request.path_params["user_id"])))


async def test_url_for_works_in_application_middleware() -> None:
    app = App(
        routes=[Route("/users/{user_id:int}", user, name="user")],
        middleware=[Middleware(LinkHeader)],
    )
    async with AsyncTestClient(app) as client:
        response = await client.get("/users/1")
    assert response.headers["link"] == "http://testserver/users/7"
    assert response.text == "http://testserver/users/1"


async def test_a_mounted_app_keeps_the_outer_router_in_the_scope() -> None:
    async def where(request: Request) -> PlainTextResponse:
        assert request.scope["router"] is outer.router
        return PlainTextResponse(str(request.url_for("inner:where", user_id=3)))

    inner = App(routes=[Route("/users/{user_id:int}", where, name="where")])
    outer = App(routes=[Mount("/inner", app=inner, name="inner")])
    async with AsyncTestClient(outer) as client:
        response = await client.get("/inner/users/3")
    assert response.text == "http://testserver/inner/users/3"


async def teapot_socket(websocket: WebSocket) -> None:
    raise HTTPException(418, "short and stout", headers={"x-pot": "1"})


async def test_an_http_exception_before_accept_is_an_http_denial_response() -> None:
    app = App(routes=[WebSocketRoute("/ws", teapot_socket)])
    async with AsyncTestClient(app) as client:
        with pytest.raises(WebSocketDenialResponse) as denied:
            async with client.websocket_connect("/ws"):
                pass  # pragma: no cover - the handshake is denied
    response = denied.value
    assert (response.status_code, response.text) == (418, "short and stout")
    assert response.headers["x-pot"] == "1"


async def test_without_the_denial_extension_the_handshake_is_closed() -> None:
    app = App(routes=[WebSocketRoute("/ws", teapot_socket)])
    sent = await run_websocket(app, "/ws")
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_max_body_size_refuses_a_declared_body_the_endpoint_never_reads() -> None:
    calls: list[str] = []

    async def ignore_body(request: Request) -> PlainTextResponse:
        calls.append("called")
        return PlainTextResponse("ok")

    app = App(routes=[Route("/", ignore_body, methods=["POST"])], max_body_size=4)
    async with AsyncTestClient(app) as client:
        assert (await client.post("/", content=b"1234")).text == "ok"
        response = await client.post("/", content=b"12345")
    assert (response.status_code, response.text) == (413, "Content Too Large")
    assert calls == ["called"]


async def test_add_middleware_takes_the_middlewares_own_arguments() -> None:
    seen: list[int] = []
    app = App(routes=[Route("/users/{user_id:int}", user, name="user")])
    app.add_middleware(StatusRecorder, seen=seen)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/users/2")).text == "http://testserver/users/2"
    assert seen == [200]

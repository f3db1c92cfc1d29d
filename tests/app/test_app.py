"""App end to end, through the test client: Starlette's documented behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from asgi_app import (
    App,
    HTTPException,
    JSONResponse,
    Middleware,
    Mount,
    PlainTextResponse,
    Request,
    Route,
    Router,
    WebSocket,
    WebSocketRoute,
)
from asgi_core.limits import RequestLimits
from asgi_core.types import Receive, Scope, Send
from asgi_testkit import AsyncTestClient, TestClient


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("boom <b>")


async def teapot(request: Request) -> PlainTextResponse:
    raise HTTPException(418, detail="short and stout", headers={"x-pot": "1"})


class Tagging:
    """A pure ASGI middleware that records its place in the stack."""

    def __init__(self, app: Any, tag: str) -> None:
        self.app = app
        self.tag = tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-order", self.tag.encode()))
            await send(message)

        await self.app(scope, receive, tagged_send)


def test_readme_example() -> None:
    async def homepage(request: Request) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    app = App(routes=[Route("/", homepage)])
    assert TestClient(app).get("/").json() == {"hello": "world"}


def test_user_middleware_runs_in_declared_order() -> None:
    app = App(
        routes=[Route("/", hello)],
        middleware=[Middleware(Tagging, tag="outer"), Middleware(Tagging, tag="inner")],
    )
    response = TestClient(app).get("/")
    # headers are appended on the way out: inner first, then outer
    assert response.headers.get_list("x-order") == ["inner", "outer"]


def test_add_middleware_goes_outermost_and_is_refused_after_start() -> None:
    app = App(routes=[Route("/", hello)], middleware=[Middleware(Tagging, tag="declared")])
    app.add_middleware(Tagging, tag="added")
    client = TestClient(app)
    assert client.get("/").headers.get_list("x-order") == ["declared", "added"]
    with pytest.raises(RuntimeError, match="after the application has started"):
        app.add_middleware(Tagging, tag="late")


def test_http_exception_rendered_with_headers() -> None:
    app = App(routes=[Route("/", teapot)])
    response = TestClient(app).get("/")
    assert (response.status_code, response.text) == (418, "short and stout")
    assert response.headers["x-pot"] == "1"


def test_not_found_and_method_not_allowed() -> None:
    app = App(routes=[Route("/", hello, methods=["GET"])])
    client = TestClient(app)
    assert client.get("/missing").status_code == 404
    response = client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


def test_exception_handlers_by_status_and_class() -> None:
    async def on_404(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"missing": request.url.path}, status_code=404)

    def on_value_error(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(f"bad value: {exc}", status_code=422)

    async def raises_value_error(request: Request) -> PlainTextResponse:
        raise ValueError("nope")

    app = App(
        routes=[Route("/value", raises_value_error)],
        exception_handlers={404: on_404, ValueError: on_value_error},
    )
    client = TestClient(app)
    assert client.get("/gone").json() == {"missing": "/gone"}
    response = client.get("/value")
    assert (response.status_code, response.text) == (422, "bad value: nope")
    with pytest.raises(RuntimeError, match="exception handler after"):
        app.add_exception_handler(KeyError, on_value_error)


def test_server_error_is_500_then_reraised() -> None:
    app = App(routes=[Route("/", boom)])
    with pytest.raises(RuntimeError, match="boom"):
        TestClient(app).get("/")
    response = TestClient(app, raise_server_exceptions=False).get("/")
    assert response.status_code == 500
    assert "boom" not in response.text  # no details without debug


def test_500_handler_and_debug_page() -> None:
    async def on_500(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("custom 500", status_code=500)

    app = App(routes=[Route("/", boom)], exception_handlers={Exception: on_500})
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/").text == "custom 500"

    debug_app = App(debug=True, routes=[Route("/", boom)])
    page = TestClient(debug_app, raise_server_exceptions=False).get(
        "/", headers={"accept": "text/html"}
    )
    assert page.status_code == 500
    assert "boom &lt;b&gt;" in page.text
    assert "boom <b>" not in page.text


def test_routing_helpers_and_url_path_for() -> None:
    async def user(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.path_params["user_id"]))

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    async def sub(request: Request) -> PlainTextResponse:
        return PlainTextResponse("sub")

    app = App()
    app.add_route("/users/{user_id:int}", user, name="user")
    app.add_websocket_route("/ws", ws, name="ws")
    app.mount("/sub", Router([Route("/", sub, name="index")]), name="sub")
    app.host("api.example.org", Router([Route("/", hello, name="api_home")]), name="api")
    assert len(app.routes) == 4
    assert app.url_path_for("user", user_id=7) == "/users/7"
    assert app.url_path_for("sub:index") == "/sub/"
    client = TestClient(app)
    assert client.get("/users/7").text == "7"
    assert client.get("/sub/").text == "sub"
    assert client.get("/", headers={"host": "api.example.org"}).text == "hello"
    with client.websocket_connect("/ws") as session:
        assert session.receive_text() == "hi"


def test_lifespan_state_reaches_requests_and_app_state() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hi from lifespan"}
        events.append("shutdown")

    async def greet(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.greeting)

    app = App(routes=[Route("/", greet)], lifespan=lifespan)
    app.state.version = "1"
    assert app.state.version == "1"
    with TestClient(app) as client:
        assert client.get("/").text == "hi from lifespan"
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def test_max_body_size_gives_413() -> None:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = App(routes=[Route("/", echo, methods=["POST"])], max_body_size=10)
    client = TestClient(app)
    assert client.post("/", content=b"x" * 10).text == "10"
    assert client.post("/", content=b"x" * 11).status_code == 413

    def chunks() -> Any:
        yield b"x" * 8
        yield b"x" * 8

    assert client.post("/", content=chunks()).status_code == 413
    with pytest.raises(ValueError, match="max_body_size"):
        App(max_body_size=-1)


def test_app_is_set_in_scope() -> None:
    async def which(request: Request) -> PlainTextResponse:
        return PlainTextResponse(type(request.scope["app"]).__name__)

    assert TestClient(App(routes=[Route("/", which)])).get("/").text == "App"


@pytest.mark.anyio
async def test_async_client() -> None:
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        name = await websocket.receive_text()
        await websocket.send_text(f"hello {name}")
        await websocket.close()

    app = App(
        routes=[Route("/", hello), WebSocketRoute("/ws", ws)],
        middleware=[Middleware(Tagging, tag="t")],
    )
    async with AsyncTestClient(app) as client:
        response = await client.get("/")
        assert response.text == "hello"
        assert response.headers["x-order"] == "t"


def test_mounted_app_under_app() -> None:
    inner = App(routes=[Route("/", hello)])
    outer = App(routes=[Mount("/inner", app=inner)])
    assert TestClient(outer).get("/inner/").text == "hello"


def test_add_exception_handler_before_start() -> None:
    async def on_teapot(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("handled teapot", status_code=418)

    app = App(routes=[Route("/", teapot)])
    app.add_exception_handler(418, on_teapot)
    assert TestClient(app).get("/").text == "handled teapot"


def test_limits_apply_to_every_request() -> None:
    async def fields(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.form())))

    async def document(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    app = App(
        routes=[
            Route("/form", fields, methods=["POST"]),
            Route("/json", document, methods=["POST"]),
        ],
        limits=RequestLimits(max_fields=2, max_json_depth=2, max_buffered_size=64),
    )
    client = TestClient(app)
    assert client.post("/form", data={"a": "1", "b": "2"}).text == "2"
    assert client.post("/form", data={"a": "1", "b": "2", "c": "3"}).status_code == 400
    assert client.post("/json", json=[[1]]).json() == [[1]]
    assert client.post("/json", json=[[[1]]]).status_code == 400
    assert client.post("/json", json=["x" * 100]).status_code == 413


def test_a_replaced_router_is_called_as_it_is() -> None:
    calls: list[str] = []

    class CountingRouter(Router):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(scope["type"])
            await super().__call__(scope, receive, send)

    app = App()
    app.router = CountingRouter([Route("/", hello)])
    assert TestClient(app).get("/").text == "hello"
    assert calls == ["http"]
    assert TestClient(app).get("/missing").status_code == 404

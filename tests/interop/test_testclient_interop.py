"""asgi_testkit's clients driving real Starlette and FastAPI applications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict

import pytest
from fastapi import FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket

from asgi_testkit import (
    AsyncTestClient,
    TestClient,
    WebSocketDenialResponse,
    WebSocketDisconnect,
)


class State(TypedDict):
    greeting: str


events: list[str] = []


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[State]:
    events.append("startup")
    yield {"greeting": "hello"}
    events.append("shutdown")


async def homepage(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "greeting": getattr(request.state, "greeting", None),
            "path": request.url.path,
            "root_path": request.scope["root_path"],
            "cookie": request.cookies.get("flavour"),
        }
    )


async def login(request: Request) -> PlainTextResponse:
    response = PlainTextResponse("logged in")
    response.set_cookie("flavour", "mint")
    return response


async def upload(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{len(body)} bytes")


async def stream(request: Request) -> StreamingResponse:
    async def numbers() -> AsyncIterator[str]:
        for number in range(3):
            yield f"{number}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


async def crash(request: Request) -> PlainTextResponse:
    raise ValueError("starlette crash")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="echo")
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")


async def denied(websocket: WebSocket) -> None:
    await websocket.send_denial_response(PlainTextResponse("go away", status_code=403))


async def closing(websocket: WebSocket) -> None:
    await websocket.close(code=4003, reason="not today")


starlette_app = Starlette(
    routes=[
        Route("/", homepage),
        Route("/login", login),
        Route("/upload", upload, methods=["POST"]),
        Route("/stream", stream),
        Route("/crash", crash),
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/denied", denied),
        WebSocketRoute("/closing", closing),
    ],
    lifespan=lifespan,
)


def test_starlette_http_cookies_and_lifespan(anyio_backend: str) -> None:
    events.clear()
    with TestClient(starlette_app, backend=anyio_backend) as client:
        assert events == ["startup"]
        assert client.get("/").json()["greeting"] == "hello"
        assert client.get("/login").text == "logged in"
        assert client.get("/").json()["cookie"] == "mint"
        assert client.post("/upload", content=b"x" * 1000).text == "1000 bytes"
        assert client.get("/stream").text == "0\n1\n2\n"
        assert client.get("/missing").status_code == 404
        with pytest.raises(ValueError, match="starlette crash"):
            client.get("/crash")
    assert events == ["startup", "shutdown"]
    client = TestClient(starlette_app, backend=anyio_backend, raise_server_exceptions=False)
    assert client.get("/crash").status_code == 500


def test_starlette_root_path(anyio_backend: str) -> None:
    """The test requests the full path; the root path is reported, not added again."""
    client = TestClient(starlette_app, root_path="/prefix", backend=anyio_backend)
    data = client.get("/prefix/").json()
    assert data["root_path"] == "/prefix"
    assert data["path"] == "/prefix/"


def test_trailers_through_starlette_gzip(anyio_backend: str) -> None:
    from starlette.middleware.gzip import GZipMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain")]
        await send(
            {"type": "http.response.start", "status": 200, "headers": headers, "trailers": True}
        )
        await send({"type": "http.response.body", "body": b"x" * 1000})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})

    client = TestClient(GZipMiddleware(app), backend=anyio_backend)
    response = client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "x" * 1000
    assert response.extensions["http.response.trailers"] == [(b"x-checksum", b"abc")]


def test_starlette_websockets(anyio_backend: str) -> None:
    client = TestClient(starlette_app, backend=anyio_backend)
    with client.websocket_connect("/ws", subprotocols=["echo"]) as ws:
        assert ws.accepted_subprotocol == "echo"
        ws.send_text("hi")
        assert ws.receive_text() == "echo: hi"
    with pytest.raises(WebSocketDenialResponse) as denial, client.websocket_connect("/denied"):
        pass
    assert (denial.value.status_code, denial.value.text) == (403, "go away")
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/closing"):
        pass
    assert (closed.value.code, closed.value.reason) == (4003, "not today")


def test_starlette_extensions(anyio_backend: str, tmp_path: Path) -> None:
    """FileResponse (pathsend), templates (debug info) and early hints reach the test."""
    (tmp_path / "data.txt").write_text("file contents")
    (tmp_path / "index.html").write_text("Hello {{ name }}")
    templates = Jinja2Templates(directory=tmp_path)

    async def file(request: Request) -> FileResponse:
        return FileResponse(tmp_path / "data.txt")

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {"name": "world"})

    async def hinted(request: Request) -> PlainTextResponse:
        await request.send_early_hints("</style.css>; rel=preload; as=style")
        return PlainTextResponse("hinted")

    app = Starlette(routes=[Route("/file", file), Route("/page", page), Route("/hinted", hinted)])
    client = TestClient(app, backend=anyio_backend)
    assert client.get("/file").text == "file contents"
    response = client.get("/page")
    assert response.text == "Hello world"
    assert response.template.name == "index.html"  # type: ignore[attr-defined]
    assert response.context["name"] == "world"  # type: ignore[attr-defined]
    response = client.get("/hinted")
    assert response.text == "hinted"
    [hint] = response.extensions["early_hints"]
    assert hint["link"] == "</style.css>; rel=preload; as=style"


@pytest.mark.anyio
async def test_starlette_with_the_async_client() -> None:
    events.clear()
    async with AsyncTestClient(starlette_app) as client:
        assert (await client.get("/")).json()["greeting"] == "hello"
        await client.get("/login")
        assert (await client.get("/")).json()["cookie"] == "mint"
        async with client.stream("GET", "/stream") as response:
            assert [line async for line in response.aiter_lines()] == ["0", "1", "2"]
        async with client.websocket_connect("/ws", subprotocols=["echo"]) as ws:
            await ws.send_text("async")
            assert await ws.receive_text() == "echo: async"
    assert events == ["startup", "shutdown"]


fastapi_app = FastAPI(lifespan=lifespan)


@fastapi_app.get("/items/{item_id}")
async def read_item(item_id: int, request: Request, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q, "greeting": request.state.greeting}


@fastapi_app.post("/items")
async def create_item(item: dict[str, Any]) -> dict[str, Any]:
    return {"created": item}


@fastapi_app.get("/cookie")
async def read_cookie(request: Request) -> dict[str, str | None]:
    return {"session": request.cookies.get("session")}


@fastapi_app.websocket("/ws")
async def fastapi_ws(websocket: FastAPIWebSocket) -> None:
    await websocket.accept()
    data = await websocket.receive_json()
    await websocket.send_json({"got": data})
    await websocket.close()


def test_fastapi(anyio_backend: str) -> None:
    events.clear()
    with TestClient(fastapi_app, backend=anyio_backend, cookies={"session": "s1"}) as client:
        response = client.get("/items/3", params={"q": "x"})
        assert response.json() == {"item_id": 3, "q": "x", "greeting": "hello"}
        assert client.get("/items/abc").status_code == 422
        assert client.post("/items", json={"name": "pen"}).json() == {"created": {"name": "pen"}}
        assert client.get("/cookie").json() == {"session": "s1"}
        assert client.get("/openapi.json").json()["info"]["title"] == "FastAPI"
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"n": 1})
            assert ws.receive_json() == {"got": {"n": 1}}
            with pytest.raises(WebSocketDisconnect):
                ws.receive_text()
    assert events == ["startup", "shutdown"]


@pytest.mark.anyio
async def test_fastapi_with_the_async_client() -> None:
    async with AsyncTestClient(fastapi_app) as client:
        response = await client.get("/items/7")
        assert response.json() == {"item_id": 7, "q": None, "greeting": "hello"}
        async with client.websocket_connect("/ws") as ws:
            await ws.send_json([1, 2])
            assert await ws.receive_json() == {"got": [1, 2]}

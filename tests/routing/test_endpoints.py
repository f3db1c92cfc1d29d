"""HTTPEndpoint: method dispatch, HEAD, 405 with Allow."""

from __future__ import annotations

import pytest
from asgi_driver import run, run_websocket

from asgi_core.exceptions import HTTPException
from asgi_core.requests import Request
from asgi_responses import PlainTextResponse, Response
from asgi_routing import Route, Router
from asgi_routing.endpoints import HTTPEndpoint

pytestmark = pytest.mark.anyio


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse(f"get {request.path_params.get('id', '-')}")

    def post(self, request: Request) -> Response:  # sync: runs in the thread pool
        return PlainTextResponse("post")

    # Not HTTP methods: never reachable through dispatch.
    def secret(self, request: Request) -> Response:
        raise AssertionError("never dispatched")

    dispatch_me = secret


class WithHead(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("get")

    async def head(self, request: Request) -> Response:
        return PlainTextResponse("", headers={"x-head": "1"})


async def test_dispatch() -> None:
    app = Router([Route("/items/{id:int}", Items), Route("/head", WithHead)])
    assert (await run(app, "GET", "/items/3")).text == "get 3"
    assert (await run(app, "POST", "/items/3")).text == "post"
    result = await run(app, "HEAD", "/items/3")
    assert result.status == 200
    assert "x-head" not in result.headers
    assert (await run(app, "HEAD", "/head")).headers["x-head"] == "1"


@pytest.mark.parametrize("method", ["DELETE", "SECRET", "DISPATCH_ME", "TRACE", "__INIT__"])
async def test_other_methods_are_not_allowed(method: str) -> None:
    app = Router([Route("/items", Items)])
    result = await run(app, method, "/items")
    assert result.status == 405
    assert result.text == "Method Not Allowed"
    assert result.headers["allow"] == "GET, HEAD, POST"


async def test_not_allowed_inside_an_app_raises() -> None:
    app = Router([Route("/items", Items)])
    with pytest.raises(HTTPException) as info:
        await run(app, "PUT", "/items", app=object())
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD, POST"}


async def test_http_endpoint_refuses_other_scopes() -> None:
    with pytest.raises(RuntimeError, match="only handles HTTP"):
        await run_websocket(Items, "/")

"""Request body limits of routes, mounts and routers: the limit in force travels in the
scope under ``MAX_BODY_SIZE_SCOPE_KEY`` (with ``RequestLimits.max_body_size``), is set for
the call and restored after, and a ``Content-Length`` above it is a 413 before the
endpoint runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgi_driver import run, run_websocket

from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, MAX_BODY_SIZE_SCOPE_KEY, RequestLimits, get_limits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket
from asgi_responses import JSONResponse, PlainTextResponse, Response
from asgi_routing import Mount, Route, Router, WebSocketRoute

pytestmark = pytest.mark.anyio

MISSING = "missing"


class Limits:
    """An ASGI endpoint that reports the limits in its scope, never reading the body."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        payload = {
            "key": scope.get(MAX_BODY_SIZE_SCOPE_KEY, MISSING),
            "limits": get_limits(scope).max_body_size,
            "depth": get_limits(scope).max_json_depth,
        }
        await JSONResponse(payload)(scope, receive, send)


async def read_body(request: Request) -> Response:
    return PlainTextResponse(f"read {len(await request.body())}")


def length(size: int) -> list[tuple[str, str]]:
    return [("content-length", str(size))]


async def test_a_route_limit_is_set_for_the_call_and_restored() -> None:
    endpoint = Limits()
    app = Router([Route("/up", endpoint, max_body_size=10), Route("/free", endpoint)])
    outer = RequestLimits(max_json_depth=5, max_body_size=3)
    result = await run(
        app, "POST", "/up", **{LIMITS_KEY: outer, MAX_BODY_SIZE_SCOPE_KEY: 3}, body=b"x" * 5
    )
    assert json.loads(result.body) == {"key": 10, "limits": 10, "depth": 5}
    # the previous values are back once the call returns
    assert result.scope[MAX_BODY_SIZE_SCOPE_KEY] == 3
    assert result.scope[LIMITS_KEY] is outer
    result = await run(app, "POST", "/up")
    assert json.loads(result.body)["key"] == 10
    assert MAX_BODY_SIZE_SCOPE_KEY not in result.scope
    assert LIMITS_KEY not in result.scope
    result = await run(app, "POST", "/free")
    assert json.loads(result.body) == {"key": MISSING, "limits": None, "depth": 64}


async def test_a_route_used_alone_applies_its_limit() -> None:
    endpoint = Limits()
    route = Route("/up", endpoint, max_body_size=10)
    result = await run(route, "POST", "/up", **{LIMITS_KEY: RequestLimits(max_json_depth=5)})
    assert json.loads(result.body) == {"key": 10, "limits": 10, "depth": 5}
    result = await run(route, "POST", "/up", length(11))
    assert (result.status, result.text) == (413, "Content Too Large")
    assert result.header("connection") == "close"
    assert endpoint.calls == 1


async def test_content_length_over_the_limit_in_force_is_413_before_the_endpoint() -> None:
    endpoint = Limits()
    app = Router([Route("/n", endpoint, methods=["POST"])])
    # the limit set further out (an application, a middleware) is in the scope
    result = await run(app, "POST", "/n", length(6), **{MAX_BODY_SIZE_SCOPE_KEY: 5})
    assert (result.status, result.text) == (413, "Content Too Large")
    assert endpoint.calls == 0
    for headers in (length(5), [("content-length", "junk")], []):
        result = await run(app, "POST", "/n", headers, **{MAX_BODY_SIZE_SCOPE_KEY: 5})
        assert result.status == 200
    # an absurdly long length is over any limit, without converting it
    result = await run(app, "POST", "/n", length(10**40), **{MAX_BODY_SIZE_SCOPE_KEY: 10**30})
    assert result.status == 413
    # a value that is not an int is no limit
    result = await run(app, "POST", "/n", length(6), **{MAX_BODY_SIZE_SCOPE_KEY: None})
    assert result.status == 200
    assert endpoint.calls == 4


async def test_inside_an_app_the_413_is_an_http_exception() -> None:
    app = Router([Route("/n", Limits(), methods=["POST"])])
    with pytest.raises(HTTPException) as caught:
        await run(app, "POST", "/n", length(6), app=object(), **{MAX_BODY_SIZE_SCOPE_KEY: 5})
    assert caught.value.status_code == 413
    assert caught.value.detail == "Content Too Large"
    assert caught.value.headers == {"Connection": "close"}


async def test_the_route_path_outside_the_fast_path_checks_too() -> None:
    class Custom(Route):
        def matches(self, scope: Scope) -> Any:
            return super().matches(scope)

    endpoint = Limits()
    app = Router([Custom("/n", endpoint, methods=["POST"])])
    result = await run(app, "POST", "/n", length(6), **{MAX_BODY_SIZE_SCOPE_KEY: 5})
    assert result.status == 413
    result = await run(app, "POST", "/n", length(5), **{MAX_BODY_SIZE_SCOPE_KEY: 5})
    assert result.status == 200
    assert endpoint.calls == 1


async def test_a_route_limit_replaces_the_one_in_force() -> None:
    endpoint = Limits()
    app = Router(
        [
            Route("/wide", endpoint, methods=["POST"], max_body_size=100),
            Route("/narrow", endpoint, methods=["POST"], max_body_size=2),
        ]
    )
    outer = {MAX_BODY_SIZE_SCOPE_KEY: 5}
    assert (await run(app, "POST", "/wide", length(50), **outer)).status == 200
    assert (await run(app, "POST", "/wide", length(101), **outer)).status == 413
    assert (await run(app, "POST", "/narrow", length(3), **outer)).status == 413
    assert endpoint.calls == 1


async def test_mount_limit_covers_its_routes_and_a_route_limit_wins() -> None:
    endpoint = Limits()
    app = Router(
        [
            Mount(
                "/m",
                routes=[
                    Route("/n", endpoint, methods=["POST"]),
                    Route("/big", endpoint, methods=["POST"], max_body_size=100),
                ],
                max_body_size=5,
            ),
            Route("/out", endpoint, methods=["POST"]),
        ]
    )
    result = await run(app, "POST", "/m/n", length(5))
    assert json.loads(result.body) == {"key": 5, "limits": 5, "depth": 64}
    assert (await run(app, "POST", "/m/n", length(6))).status == 413
    assert (await run(app, "POST", "/m/big", length(50))).status == 200
    assert (await run(app, "POST", "/out", length(50))).status == 200
    assert endpoint.calls == 3


async def test_mount_of_an_app_without_routes_checks_itself() -> None:
    endpoint = Limits()
    app = Router([Mount("/raw", app=endpoint, max_body_size=5)])
    assert (await run(app, "POST", "/raw/x", length(6))).status == 413
    result = await run(app, "POST", "/raw/x", length(5))
    assert json.loads(result.body)["key"] == 5
    assert endpoint.calls == 1


async def test_router_limit() -> None:
    endpoint = Limits()
    inner = Router(
        [Route("/n", endpoint, methods=["POST"]), Route("/body", read_body, methods=["POST"])],
        max_body_size=5,
    )
    assert (await run(inner, "POST", "/n", length(6))).status == 413
    result = await run(inner, "POST", "/n", length(5), **{MAX_BODY_SIZE_SCOPE_KEY: 1})
    assert json.loads(result.body)["key"] == 5
    assert result.scope[MAX_BODY_SIZE_SCOPE_KEY] == 1
    # a chunked (undeclared) body over the limit is refused by whoever reads it
    with pytest.raises(HTTPException) as caught:
        await run(inner, "POST", "/body", body=b"x" * 6)
    assert caught.value.status_code == 413
    assert (await run(inner, "POST", "/body", body=b"x" * 5)).text == "read 5"
    app = Router([Mount("/api", app=inner)], max_body_size=100)
    assert (await run(app, "POST", "/api/n", length(6))).status == 413
    assert endpoint.calls == 1


async def test_a_route_limit_still_applies_under_a_middleware_copying_the_scope() -> None:
    def copying(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            await app(dict(scope), receive, send)

        return middleware

    endpoint = Limits()
    app = Router(
        [Route("/up", endpoint, methods=["POST"], max_body_size=10)],
        middleware=[(copying, (), {})],
    )
    outer = {MAX_BODY_SIZE_SCOPE_KEY: 5}
    assert (await run(app, "POST", "/up", length(11), **outer)).status == 413
    result = await run(app, "POST", "/up", length(8), **outer)
    assert json.loads(result.body)["key"] == 10
    assert result.scope[MAX_BODY_SIZE_SCOPE_KEY] == 5


async def test_websockets_pass_through_limited_mounts_and_routers() -> None:
    async def session(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"key": websocket.scope.get(MAX_BODY_SIZE_SCOPE_KEY)})
        await websocket.close()

    app = Router(
        [Mount("/m", routes=[WebSocketRoute("/ws", session)], max_body_size=5)],
        max_body_size=10,
    )
    sent = await run_websocket(app, "/m/ws")
    assert sent[1] == {"type": "websocket.send", "text": '{"key":null}'}


@pytest.mark.parametrize(
    "build",
    [
        lambda: Route("/", read_body, max_body_size=-1),
        lambda: Mount("/m", routes=[], max_body_size=-1),
        lambda: Router(max_body_size=-1),
    ],
)
def test_a_negative_limit_is_refused(build: Any) -> None:
    with pytest.raises(ValueError, match="max_body_size must be a non-negative"):
        build()

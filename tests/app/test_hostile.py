"""App's own defences against hostile requests (issue #23): the header-section check
at its entry, WebSocket origins (same-origin by default) and ``allowed_hosts``."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from asgi_driver import call, idle_receive, make_scope, queue_receive, run, websocket_scope
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_app import App
from asgi_core.limits import RequestLimits, check_headers
from asgi_core.requests import Request
from asgi_core.websockets import WebSocket
from asgi_middleware import Middleware
from asgi_responses import PlainTextResponse, Response
from asgi_routing import Route, WebSocketRoute

pytestmark = pytest.mark.anyio


async def hello(request: Request) -> Response:
    return PlainTextResponse(str(request.url_for("hello")))


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


def app(**kwargs: Any) -> App:
    return App(routes=[Route("/", hello, name="hello"), WebSocketRoute("/ws", chat)], **kwargs)


async def test_two_host_headers_are_refused_before_any_middleware() -> None:
    reached: list[str] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            reached.append(scope["type"])  # pragma: no cover - never reached
            await self.inner(scope, receive, send)  # pragma: no cover

    result = await run(
        app(middleware=[Middleware(Spy)]), headers=[("host", "a.example"), ("host", "a.example")]
    )
    assert result.status == 400
    assert reached == []


async def test_header_limits_come_from_the_app_limits() -> None:
    headers = [(f"x-{i}", "1") for i in range(20)]
    assert (await run(app(), headers=headers)).status == 200
    assert (await run(app(limits=RequestLimits(max_headers=10)), headers=headers)).status == 431


_HEADER = st.tuples(st.sampled_from([b"host", b"x-a", b"accept"]), st.binary(max_size=30))


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(_HEADER, max_size=7), as_tuple=st.booleans())
def test_the_entry_check_refuses_exactly_what_check_headers_refuses(
    headers: list[tuple[bytes, bytes]], as_tuple: bool
) -> None:
    # App inlines check_headers() on its hot path: both must refuse the same sections.
    limits = RequestLimits(max_headers=5, max_header_size=60)

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    scope = make_scope("GET", "/")
    scope["headers"] = tuple(headers) if as_tuple else list(headers)
    sent = anyio.run(call, App(routes=[Route("/", ok)], limits=limits), scope, idle_receive)
    refusal = check_headers(list(headers), limits)
    assert sent[0]["status"] == (200 if refusal is None else refusal[0])


async def test_lifespan_is_not_checked() -> None:
    sent = await call(
        app(),
        {"type": "lifespan", "asgi": {"version": "3.0"}},
        queue_receive([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]),
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def handshake(application: App, origin: str | None, **extra: Any) -> list[Any]:
    headers = [("host", "app.example")] + ([("origin", origin)] if origin else [])
    scope = websocket_scope("/ws", headers, **extra)
    receive = queue_receive(
        [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    )
    return await call(application, scope, receive)


async def test_websocket_handshakes_are_same_origin_by_default() -> None:
    assert (await handshake(app(), "http://app.example"))[0]["type"] == "websocket.accept"
    assert (await handshake(app(), None))[0]["type"] == "websocket.accept"  # not a browser
    refused = await handshake(app(), "http://evil.example")
    assert [m["type"] for m in refused] == ["websocket.close"]  # the server answers 403
    denied = await handshake(
        app(), "http://evil.example", extensions={"websocket.http.response": {}}
    )
    assert denied[0]["type"] == "websocket.http.response.start"
    assert denied[0]["status"] == 403


async def test_websocket_origins_list_or_wildcard() -> None:
    listed = app(websocket_origins=["https://partner.example"])
    assert (await handshake(listed, "https://partner.example"))[0]["type"] == "websocket.accept"
    assert (await handshake(listed, "http://app.example"))[0]["type"] == "websocket.close"
    anyone = app(websocket_origins=["*"])
    assert (await handshake(anyone, "https://evil.example"))[0]["type"] == "websocket.accept"


async def test_the_origin_check_runs_after_the_user_middleware() -> None:
    """Proxy-header middleware runs first, so a TLS-terminating proxy's wss:// is seen."""

    class HttpsProxy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "websocket":
                scope["scheme"] = "wss"
            await self.inner(scope, receive, send)

    behind = app(middleware=[Middleware(HttpsProxy)])
    assert (await handshake(behind, "https://app.example"))[0]["type"] == "websocket.accept"
    assert (await handshake(behind, "http://app.example"))[0]["type"] == "websocket.close"


async def test_allowed_hosts_guards_url_for() -> None:
    guarded = app(allowed_hosts=["app.example"])
    forged = await run(guarded, host="evil.example")
    assert forged.status == 400
    real = await run(guarded, host="app.example")
    assert real.text == "http://app.example/"
    # without it, the Host header flows into url_for (the documented risk)
    assert (await run(app(), host="evil.example")).text == "http://evil.example/"


async def test_http_requests_pass_the_origin_check() -> None:
    scope = make_scope("GET", "/", [("host", "app.example"), ("origin", "https://evil.example")])
    sent = await call(app(), scope, queue_receive([{"type": "http.request", "body": b""}]))
    assert sent[0]["status"] == 200

"""OpenTelemetryMiddleware around App and around Starlette apps, side by side with
Starlette 1.10's own middleware (the specification)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgi_driver import Boom, call, make_scope, queue_receive, recorder, run, run_websocket
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.applications import Starlette
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.opentelemetry import (
    OpenTelemetryMiddleware as StarletteOpenTelemetryMiddleware,
)
from starlette.responses import PlainTextResponse as StarlettePlainText
from starlette.routing import Mount as StarletteMount
from starlette.routing import Route as StarletteRoute

from asgi_app import (
    App,
    Middleware,
    Mount,
    PlainTextResponse,
    Request,
    Route,
    WebSocket,
    WebSocketRoute,
)
from asgi_core.types import Receive, Scope, Send
from asgi_middleware.opentelemetry import OpenTelemetryMiddleware

pytestmark = pytest.mark.anyio


class Tracing:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def summary(self) -> list[tuple[str, dict[str, Any], StatusCode]]:
        return [(s.name, dict(s.attributes or {}), s.status.status_code) for s in self.spans]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    tracing = Tracing()
    yield tracing
    tracing.provider.shutdown()


async def show_user(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"user {request.path_params['id']}")


async def fail(request: Request) -> PlainTextResponse:
    raise Boom("endpoint failed")


async def raw_files(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("file")(scope, receive, send)


async def room(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.path_params["name"])
    await websocket.close()


def make_app(tracing: Tracing, **options: Any) -> App:
    return App(
        routes=[
            Route("/users/{id:int}", show_user),
            Route("/fail", fail),
            Mount("/api/v1", routes=[Route("/users/{id:int}", show_user)]),
            Mount("/files", raw_files),
            WebSocketRoute("/rooms/{name}", room),
        ],
        middleware=[
            Middleware(OpenTelemetryMiddleware, tracer_provider=tracing.provider, **options)
        ],
    )


@pytest.mark.parametrize(
    ("path", "status", "name"),
    [
        ("/users/7", 200, "GET /users/{id}"),
        ("/api/v1/users/7", 200, "GET /api/v1/users/{id}"),
        ("/files/css/site.css", 200, "GET /files"),
        ("/nothing-here", 404, "GET"),
        ("/users/seven", 404, "GET"),  # the convertor refused: no route matched
    ],
)
async def test_app_spans_are_named_after_the_route(
    tracing: Tracing, path: str, status: int, name: str
) -> None:
    result = await run(make_app(tracing), "GET", path, body=b"")
    assert result.status == status
    (span,) = tracing.spans
    assert span.name == name
    attributes = dict(span.attributes or {})
    assert attributes["http.response.status_code"] == status
    assert attributes["url.path"] == path
    if name != "GET":
        assert attributes["http.route"] == name.removeprefix("GET ")


async def test_app_405_keeps_the_route(tracing: Tracing) -> None:
    result = await run(make_app(tracing), "DELETE", "/users/7", body=b"")
    assert result.status == 405
    assert tracing.summary()[0][0] == "DELETE /users/{id}"


async def test_app_exception_is_recorded_before_the_500(tracing: Tracing) -> None:
    result, send = recorder()
    scope = make_scope("GET", "/fail")
    with pytest.raises(Boom):
        await make_app(tracing)(scope, queue_receive([{"type": "http.request"}]), send)
    assert result.status == 500  # sent by App's server-error handler, outside the span
    (span,) = tracing.spans
    assert span.name == "GET /fail"
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "Boom"
    assert [event.name for event in span.events] == ["exception"]


async def test_app_websocket_connection(tracing: Tracing) -> None:
    sent = await run_websocket(make_app(tracing), "/rooms/lobby")
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    (span,) = tracing.spans
    assert span.name == "WEBSOCKET /rooms/{name}"
    assert dict(span.attributes or {})["http.response.status_code"] == 101


async def test_app_websocket_without_a_route_is_refused_with_403(tracing: Tracing) -> None:
    await run_websocket(make_app(tracing), "/nowhere")
    (span,) = tracing.spans
    assert span.name == "WEBSOCKET"
    assert dict(span.attributes or {})["http.response.status_code"] == 403


async def test_app_lifespan_passes_through(tracing: Tracing) -> None:
    receive = queue_receive([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = await call(make_app(tracing), {"type": "lifespan"}, receive)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert tracing.spans == ()


async def test_app_excluded_urls(tracing: Tracing) -> None:
    app = make_app(tracing, excluded_urls=["/users/"])
    await run(app, "GET", "/users/1", body=b"")
    await run(app, "GET", "/api/v1/users/1", body=b"")
    assert tracing.spans == ()
    await run(app, "GET", "/files/x", body=b"")
    assert len(tracing.spans) == 1


async def test_an_app_mounted_in_an_app_gives_one_span(tracing: Tracing) -> None:
    inner = make_app(tracing)
    outer = App(
        routes=[Mount("/v2", inner)],
        middleware=[Middleware(OpenTelemetryMiddleware, tracer_provider=tracing.provider)],
    )
    result = await run(outer, "GET", "/v2/api/v1/users/3", body=b"")
    assert result.text == "user 3"
    assert [span.name for span in tracing.spans] == ["GET /v2/api/v1/users/{id}"]


async def test_the_server_root_path_prefixes_the_route(tracing: Tracing) -> None:
    result = await run(make_app(tracing), "GET", "/prefix/users/3", root_path="/prefix")
    assert result.status == 200
    assert tracing.summary()[0][0] == "GET /prefix/users/{id}"


# Around Starlette applications


async def starlette_user(request: Any) -> StarlettePlainText:
    return StarlettePlainText(f"user {request.path_params['id']}")


async def starlette_fail(request: Any) -> StarlettePlainText:
    raise Boom("endpoint failed")


def starlette_app(middleware: list[StarletteMiddleware]) -> Starlette:
    return Starlette(
        routes=[
            StarletteRoute("/users/{id:int}", starlette_user),
            StarletteRoute("/fail", starlette_fail),
            StarletteMount("/api/v1", routes=[StarletteRoute("/users/{id:int}", starlette_user)]),
            StarletteMount("/files", raw_files),
        ],
        middleware=middleware,
    )


REQUESTS = [
    ("GET", "/users/7", [("user-agent", "probe")], b""),
    ("post", "/users/7", [], b""),
    ("GET", "/api/v1/users/7", [("host", "example.com:8080")], b"a=1"),
    ("GET", "/files/css/site.css", [], b""),
    ("GET", "/nothing-here", [("host", "[::1]")], b""),
]


async def test_same_spans_as_starlettes_middleware_around_a_starlette_app() -> None:
    theirs, ours = Tracing(), Tracing()
    app_theirs = starlette_app(
        [StarletteMiddleware(StarletteOpenTelemetryMiddleware, tracer_provider=theirs.provider)]
    )
    app_ours = starlette_app(
        [StarletteMiddleware(OpenTelemetryMiddleware, tracer_provider=ours.provider)]
    )
    for method, path, headers, query in REQUESTS:
        for app in (app_theirs, app_ours):
            await run(app, method, path, headers, query_string=query, body=b"")
    for app in (app_theirs, app_ours):
        with pytest.raises(Boom):
            await app(make_scope("GET", "/fail"), queue_receive([]), recorder()[1])
    assert ours.summary() == theirs.summary()
    assert len(ours.spans) == len(REQUESTS) + 1


async def test_around_a_starlette_app_from_outside(tracing: Tracing) -> None:
    app = OpenTelemetryMiddleware(starlette_app([]), tracer_provider=tracing.provider)
    await run(app, "GET", "/api/v1/users/9", body=b"")
    assert tracing.summary()[0][0] == "GET /api/v1/users/{id}"


@pytest.mark.parametrize("ours_outside", [True, False])
async def test_ours_and_starlettes_never_double_count(ours_outside: bool) -> None:
    theirs, ours = Tracing(), Tracing()
    inner_cls: Any = StarletteOpenTelemetryMiddleware if ours_outside else OpenTelemetryMiddleware
    outer_cls: Any = OpenTelemetryMiddleware if ours_outside else StarletteOpenTelemetryMiddleware
    inner_tracing, outer_tracing = (theirs, ours) if ours_outside else (ours, theirs)
    app = outer_cls(
        starlette_app([StarletteMiddleware(inner_cls, tracer_provider=inner_tracing.provider)]),
        tracer_provider=outer_tracing.provider,
    )
    await run(app, "GET", "/users/1", body=b"")
    assert [span.name for span in outer_tracing.spans] == ["GET /users/{id}"]
    assert inner_tracing.spans == ()

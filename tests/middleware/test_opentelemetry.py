"""OpenTelemetryMiddleware around bare ASGI callables: spans, attributes, routes, errors.

Every test builds its own SDK TracerProvider with an in-memory exporter and passes it
explicitly (or patches the global lookup for the one test), so nothing leaks between
tests. Routers are stood in for by apps that publish ``scope["route"]`` themselves; the
same middleware around App and Starlette is in tests/observability/.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgi_driver import Boom, call, make_scope, queue_receive, recorder, run, run_websocket
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware.opentelemetry import OpenTelemetryMiddleware

pytestmark = pytest.mark.anyio


class Tracing:
    """An SDK tracer provider whose finished spans stay in memory."""

    def __init__(self, **kwargs: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(**kwargs)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    @property
    def span(self) -> ReadableSpan:
        (span,) = self.spans
        return span

    def wrap(self, app: ASGIApp, **kwargs: Any) -> OpenTelemetryMiddleware:
        return OpenTelemetryMiddleware(app, tracer_provider=self.provider, **kwargs)


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    tracing = Tracing()
    yield tracing
    tracing.provider.shutdown()


class FakeRoute:
    """What a router publishes in ``scope["route"]``: the matched route's template."""

    def __init__(self, path_format: Any) -> None:
        self.path_format = path_format


class FakeMount(FakeRoute):
    """A mount: it has ``routes``; its ``path_format`` is ``<prefix>/{path}``."""

    routes: list[Any] = []


def routed(route: Any = None, status: int = 200, root_path: str | None = None) -> ASGIApp:
    """An app that answers ``status`` after publishing ``route`` (and ``root_path``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if route is not None:
            scope["route"] = route
        if root_path is not None:
            scope["root_path"] = root_path
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def test_one_server_span_with_the_stable_http_attributes(tracing: Tracing) -> None:
    app = tracing.wrap(routed(FakeRoute("/users/{id}")))
    headers = [("host", "Example.COM:8443"), ("user-agent", "probe/1.0")]
    result = await run(app, "GET", "/users/7", headers, query_string=b"a=1&b=%20", scheme="https")
    assert result.status == 200
    assert result.body == b"ok"
    span = tracing.span
    assert span.name == "GET /users/{id}"
    assert span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "asgi_middleware.opentelemetry"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/users/7",
        "url.scheme": "https",
        "url.query": "a=1&b=%20",
        "server.address": "example.com",
        "server.port": 8443,
        "network.protocol.version": "1.1",
        "client.address": "127.0.0.1",
        "user_agent.original": "probe/1.0",
        "http.response.status_code": 200,
        "http.route": "/users/{id}",
    }


async def test_without_a_route_the_span_is_named_after_the_method(tracing: Tracing) -> None:
    await run(tracing.wrap(routed()), "POST", "/anything", body=b"")
    span = tracing.span
    assert span.name == "POST"
    assert "http.route" not in (span.attributes or {})
    assert "url.query" not in (span.attributes or {})
    assert "user_agent.original" not in (span.attributes or {})


async def test_a_route_without_a_string_template_is_ignored(tracing: Tracing) -> None:
    await run(tracing.wrap(routed(FakeRoute(None))))
    assert tracing.span.name == "GET"


async def test_an_unusual_method_is_upper_cased_and_kept_as_sent(tracing: Tracing) -> None:
    await run(tracing.wrap(routed()), "purge", "/")
    attributes = tracing.span.attributes or {}
    assert tracing.span.name == "PURGE"
    assert attributes["http.request.method"] == "PURGE"
    assert attributes["http.request.method_original"] == "purge"


@pytest.mark.parametrize(
    ("route", "root_path", "expected"),
    [
        (FakeRoute("/users/{id}"), "", "/users/{id}"),
        # a route of a mounted router: the mount's prefix (in root_path) comes first
        (FakeRoute("/users/{id}"), "/api/v1", "/api/v1/users/{id}"),
        (FakeRoute("/"), "/api/", "/api/"),
        # a mount whose app is no router: everything under its prefix
        (FakeMount("/static/{path}"), "/static", "/static"),
        (FakeMount("/{path}"), "", "/"),
    ],
)
async def test_route_template_under_mounts(
    tracing: Tracing, route: FakeRoute, root_path: str, expected: str
) -> None:
    await run(tracing.wrap(routed(route, root_path=root_path)), "GET", "/x")
    assert tracing.span.name == f"GET {expected}"
    assert (tracing.span.attributes or {})["http.route"] == expected


async def test_5xx_is_an_error(tracing: Tracing) -> None:
    await run(tracing.wrap(routed(FakeRoute("/"), status=503)))
    span = tracing.span
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "503"
    assert (span.attributes or {})["http.response.status_code"] == 503


async def test_4xx_is_not_an_error_on_the_server(tracing: Tracing) -> None:
    await run(tracing.wrap(routed(status=404)))
    assert tracing.span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (tracing.span.attributes or {})


async def test_an_exception_is_recorded_and_re_raised(tracing: Tracing) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = FakeRoute("/boom/{n}")
        raise Boom("it broke")

    _, send = recorder()
    with pytest.raises(Boom):
        await tracing.wrap(app)(make_scope("GET", "/boom/1"), queue_receive([]), send)
    span = tracing.span
    assert span.name == "GET /boom/{n}"
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "Boom"
    assert "http.response.status_code" not in (span.attributes or {})
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith("Boom")
    assert (event.attributes or {})["exception.message"] == "it broke"


async def test_an_early_hint_before_the_response_is_passed_on(tracing: Tracing) -> None:
    hint = {"type": "http.response.early_hint", "links": [b"</app.css>; rel=preload"]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(hint)
        await routed(status=201)(scope, receive, send)

    result = await run(tracing.wrap(app))
    assert result.messages[0] == hint
    assert (tracing.span.attributes or {})["http.response.status_code"] == 201


async def test_the_remote_parent_comes_from_the_traceparent_header(tracing: Tracing) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = [("traceparent", f"00-{trace_id}-{parent_id}-01")]
    await run(tracing.wrap(routed()), "GET", "/", headers)
    span = tracing.span
    assert span.parent is not None
    assert span.parent.is_remote
    assert span.context is not None
    assert span.context.trace_id == int(trace_id, 16)
    assert span.parent.span_id == int(parent_id, 16)


async def test_the_span_is_current_inside_the_app(tracing: Tracing) -> None:
    seen: list[trace.Span] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(trace.get_current_span())
        with tracing.provider.get_tracer("app").start_as_current_span("work"):
            pass
        await routed()(scope, receive, send)

    await run(tracing.wrap(app))
    work, server = tracing.spans
    assert seen[0].get_span_context() == server.context
    assert work.parent is not None
    assert server.context is not None
    assert work.parent.span_id == server.context.span_id


@pytest.mark.parametrize(
    ("headers", "server", "expected"),
    [
        # Host without a port: the server's port
        ([("host", "example.com")], ("10.0.0.1", 8000), ("example.com", 8000)),
        ([("host", "[::1]:9000")], ("10.0.0.1", 8000), ("::1", 9000)),
        ([("host", "example.com")], None, ("example.com", None)),
        # a malformed Host never raises: the server's address instead
        ([("host", "bad host:99999")], ("10.0.0.1", 8000), ("10.0.0.1", 8000)),
        ([], ("Server.Local", 80), ("server.local", 80)),
        ([], None, None),
        ([], ("/tmp/app.sock", None), None),  # a unix socket: no address to report
    ],
)
async def test_server_address_and_port(
    tracing: Tracing,
    headers: list[tuple[str, str]],
    server: tuple[str, int | None] | None,
    expected: tuple[str, int | None] | None,
) -> None:
    await run(tracing.wrap(routed()), "GET", "/", headers, server=server)
    attributes = tracing.span.attributes or {}
    if expected is None:
        assert "server.address" not in attributes
        assert "server.port" not in attributes
        return
    assert attributes["server.address"] == expected[0]
    assert attributes.get("server.port") == expected[1]


async def test_a_minimal_scope_still_gets_a_span(tracing: Tracing) -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    sent = await call(tracing.wrap(routed()), scope, queue_receive([]))
    assert sent[0]["status"] == 200
    assert dict(tracing.span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/",
        "url.scheme": "http",
        "http.response.status_code": 200,
    }


async def test_a_scope_without_headers(tracing: Tracing) -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "http_version": ""}
    await call(tracing.wrap(routed()), scope, queue_receive([]))
    assert "network.protocol.version" not in (tracing.span.attributes or {})


@pytest.mark.parametrize(
    "excluded",
    [
        "/health, /metrics$",
        ["/health", r"/metrics$"],
        (r"^http://testserver/health",),
    ],
)
async def test_excluded_urls_get_no_span(tracing: Tracing, excluded: Any) -> None:
    inner_flags: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        inner_flags.append(bool(scope.get("starlette.opentelemetry")))
        await routed()(scope, receive, send)

    wrapped = tracing.wrap(app, excluded_urls=excluded)
    result = await run(wrapped, "GET", "/health", host="testserver")
    assert result.status == 200
    assert tracing.spans == ()
    await run(wrapped, "GET", "/users", host="testserver")
    assert len(tracing.spans) == 1
    # an excluded request still counts as covered: nested instances add no span either
    assert inner_flags == [True, True]


async def test_an_empty_excluded_urls_string_excludes_nothing(tracing: Tracing) -> None:
    await run(tracing.wrap(routed(), excluded_urls=" , "), "GET", "/")
    assert len(tracing.spans) == 1


async def test_nested_instances_record_exactly_one_span(tracing: Tracing) -> None:
    other = Tracing()
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await routed(FakeRoute("/x"))(scope, receive, send)

    inner = other.wrap(app)
    outer = tracing.wrap(tracing.wrap(inner))
    result = await run(outer, "GET", "/x")
    assert result.status == 200
    assert [span.name for span in tracing.spans] == ["GET /x"]
    assert other.spans == ()
    # the flag is gone once the request is over
    assert "starlette.opentelemetry" not in scopes[0]


async def test_other_scope_types_pass_through(tracing: Tracing) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        assert "starlette.opentelemetry" not in scope

    await tracing.wrap(app)({"type": "lifespan"}, queue_receive([]), recorder()[1])
    assert seen == ["lifespan"]
    assert tracing.spans == ()


async def test_a_noop_provider_passes_straight_through() -> None:
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(dict(scope))
        await routed()(scope, receive, send)

    middleware = OpenTelemetryMiddleware(app, tracer_provider=trace.NoOpTracerProvider())
    result = await run(middleware, "GET", "/")
    assert result.status == 200
    assert "starlette.opentelemetry" not in scopes[0]


def patch_global_provider(
    monkeypatch: pytest.MonkeyPatch, api_has_global: bool
) -> Callable[[trace.TracerProvider], None]:
    """Start the test with no global tracer provider; returns a function that sets one.

    Patched for this test only (``trace.set_tracer_provider`` works once per process).
    Without ``api_has_global``, the API is one without the module global, whose
    ``get_tracer_provider()`` gives the proxy while no provider is set.
    """
    if api_has_global:
        monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
        return lambda provider: monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    current: list[trace.TracerProvider] = [trace.ProxyTracerProvider()]
    monkeypatch.delattr(trace, "_TRACER_PROVIDER")
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: current[0])
    return lambda provider: current.__setitem__(0, provider)


@pytest.mark.parametrize("api_has_global", [True, False])
async def test_without_a_configured_provider_nothing_is_recorded(
    monkeypatch: pytest.MonkeyPatch, api_has_global: bool
) -> None:
    patch_global_provider(monkeypatch, api_has_global)
    seen: list[trace.Span] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(trace.get_current_span())
        assert "starlette.opentelemetry" not in scope
        await routed()(scope, receive, send)

    for middleware in (
        OpenTelemetryMiddleware(app),
        OpenTelemetryMiddleware(app, tracer_provider=trace.ProxyTracerProvider()),
    ):
        assert (await run(middleware)).status == 200
    assert seen == [trace.INVALID_SPAN, trace.INVALID_SPAN]


@pytest.mark.parametrize("api_has_global", [True, False])
async def test_the_global_provider_is_looked_up_per_connection(
    monkeypatch: pytest.MonkeyPatch, api_has_global: bool
) -> None:
    first, second = Tracing(), Tracing()
    set_global = patch_global_provider(monkeypatch, api_has_global)
    middleware = OpenTelemetryMiddleware(routed())
    await run(middleware)
    set_global(first.provider)  # the application configured tracing after startup
    await run(middleware)
    await run(middleware)
    set_global(second.provider)
    await run(middleware)
    assert len(first.spans) == 2
    assert len(second.spans) == 1


async def test_a_disabled_sdk_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    disabled = Tracing()
    assert (await run(disabled.wrap(routed()))).status == 200
    assert disabled.spans == ()


async def test_a_sampled_out_request_still_propagates_its_context() -> None:
    sampled_out = Tracing(sampler=ALWAYS_OFF)
    seen: list[trace.Span] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(trace.get_current_span())
        await routed(status=500)(scope, receive, send)

    assert (await run(sampled_out.wrap(app))).status == 500
    assert sampled_out.spans == ()
    assert seen[0].get_span_context().is_valid
    assert not seen[0].is_recording()


async def test_works_as_a_middleware_declaration(tracing: Tracing) -> None:
    entry = Middleware(OpenTelemetryMiddleware, tracer_provider=tracing.provider)
    await run(entry.build(routed()))
    assert len(tracing.spans) == 1


# WebSocket connections


async def test_a_websocket_connection_is_one_span(tracing: Tracing) -> None:
    app = tracing.wrap(routed(FakeRoute("/ws/{room}")))
    sent = await run_websocket(app, "/ws/lobby", (), headers=[("host", "example.com")])
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
    span = tracing.span
    assert span.name == "WEBSOCKET /ws/{room}"
    assert span.kind is SpanKind.SERVER
    attributes = span.attributes or {}
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.scheme"] == "ws"
    assert attributes["url.path"] == "/ws/lobby"
    assert attributes["http.route"] == "/ws/{room}"
    assert attributes["http.response.status_code"] == 101
    assert span.status.status_code is StatusCode.UNSET


async def test_a_websocket_without_a_route_or_scheme(tracing: Tracing) -> None:
    scope = make_scope(type="websocket")
    del scope["scheme"]
    connect = [{"type": "websocket.connect"}]
    await call(tracing.wrap(routed()), scope, queue_receive(connect))
    assert tracing.span.name == "WEBSOCKET"
    assert (tracing.span.attributes or {})["url.scheme"] == "ws"


async def test_a_websocket_closed_before_accepting_is_a_403(tracing: Tracing) -> None:
    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008})

    sent = await run_websocket(tracing.wrap(refuse), "/ws")
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert (tracing.span.attributes or {})["http.response.status_code"] == 403
    assert tracing.span.status.status_code is StatusCode.UNSET


async def test_a_websocket_denial_response_reports_its_status(tracing: Tracing) -> None:
    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.http.response.start", "status": 502, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"upstream down"})

    await run_websocket(tracing.wrap(deny), "/ws")
    attributes = tracing.span.attributes or {}
    assert attributes["http.response.status_code"] == 502
    assert attributes["error.type"] == "502"
    assert tracing.span.status.status_code is StatusCode.ERROR


async def test_a_websocket_error_after_accepting_is_recorded(tracing: Tracing) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.accept"})
        raise Boom("mid-session")

    scope = make_scope("GET", "/ws", type="websocket")
    with pytest.raises(Boom):
        await app_call(tracing.wrap(app), scope)
    span = tracing.span
    assert (span.attributes or {})["http.response.status_code"] == 101
    assert (span.attributes or {})["error.type"] == "Boom"
    assert span.status.status_code is StatusCode.ERROR


async def app_call(app: ASGIApp, scope: Scope) -> None:
    await app(scope, queue_receive([{"type": "websocket.connect"}]), recorder()[1])


# The extra


def test_importing_without_opentelemetry_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "asgi_middleware.opentelemetry")
    with pytest.raises(ImportError, match=r'pip install "asgi-middleware\[opentelemetry\]"'):
        importlib.import_module("asgi_middleware.opentelemetry")

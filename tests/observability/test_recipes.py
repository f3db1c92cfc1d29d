"""Every recipe of docs/observability.md, run from the document and checked end to end.

All traffic stays in process: requests go through the shared ASGI driver, spans and
metrics into in-memory readers, Sentry envelopes into a transport that records them.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from asgi_driver import call, make_scope, queue_receive, recorder, run
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from recipes import blocks, run_recipe
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from asgi_app import App, Middleware, Mount, PlainTextResponse, Request, Route

pytestmark = pytest.mark.anyio

# The recipes the tests below run: the document has exactly these.
TESTED = {
    "otel-sdk",
    "otel-app",
    "otel-generic",
    "sentry",
    "prometheus",
    "correlation-id",
    "access-log",
}


def test_every_python_block_of_the_document_is_a_tested_recipe() -> None:
    assert set(blocks()) == TESTED


# OpenTelemetry


@pytest.fixture
def otel() -> Iterator[tuple[dict[str, Any], InMemorySpanExporter]]:
    """The SDK recipe as written, plus an in-memory exporter on the same provider."""
    namespace = run_recipe("otel-sdk")
    provider = namespace["provider"]
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "shop"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield namespace, exporter
    provider.shutdown()


async def test_otel_app_recipe(otel: tuple[dict[str, Any], InMemorySpanExporter]) -> None:
    namespace, exporter = otel
    app = run_recipe("otel-app", namespace)["app"]
    assert (await run(app, "GET", "/api/users/7", body=b"")).text == "user 7"
    assert (await run(app, "GET", "/health", body=b"")).text == "ok"  # excluded
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /api/users/{id}"
    assert span.kind is SpanKind.SERVER
    assert dict(span.attributes or {})["http.route"] == "/api/users/{id}"


async def test_otel_generic_instrumentation_recipe(
    otel: tuple[dict[str, Any], InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace, exporter = otel
    reader = InMemoryMetricReader()
    # the recipe's MeterProvider(), with a reader the test can collect from
    monkeypatch.setattr(
        "opentelemetry.sdk.metrics.MeterProvider",
        lambda: MeterProvider(metric_readers=[reader]),
    )
    app = run_recipe("otel-generic", namespace)["app"]
    assert (await run(app, "GET", "/orders/42", body=b"")).text == "order 42"
    server = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in server] == ["GET /orders/42"]  # the raw path, as documented
    metrics = reader.get_metrics_data()
    assert metrics is not None
    targets = [
        dict(point.attributes or {}).get("http.target")
        for resource in metrics.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "http.server.duration"
        for point in metric.data.data_points  # type: ignore[union-attr]
    ]
    assert targets == ["/orders/{id}"]  # the route template, read from the scope


# Sentry


class RecordingTransport(Transport):
    """Keeps every envelope in memory instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def payloads(self, item_type: str) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == item_type and item.payload.json is not None
        ]


@pytest.fixture
def sentry(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTransport]:
    """``sentry_sdk.init`` as the recipe calls it, with a recording transport; without
    the integrations Sentry enables for installed frameworks (the test environment has
    Starlette, which an App user's has not), and closed afterwards."""
    transport = RecordingTransport()
    init = sentry_sdk.init

    def recording_init(*args: Any, **kwargs: Any) -> Any:
        return init(*args, transport=transport, auto_enabling_integrations=False, **kwargs)

    monkeypatch.setattr(sentry_sdk, "init", recording_init)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


async def test_sentry_recipe(sentry: RecordingTransport) -> None:
    app = run_recipe("sentry")["app"]
    result = await run(app, "GET", "/orders/5", body=b"")
    assert result.status == 200
    _, send = recorder()
    with pytest.raises(RuntimeError, match="payment backend down"):
        await app(make_scope("POST", "/pay"), queue_receive([{"type": "http.request"}]), send)
    sentry_sdk.flush()

    (error,) = sentry.payloads("event")
    assert error["transaction"] == "/pay"
    assert error["transaction_info"] == {"source": "route"}
    (exception,) = error["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "payment backend down"
    assert error["request"]["method"] == "POST"

    transactions = sentry.payloads("transaction")
    assert sorted(t["transaction"] for t in transactions) == ["/orders/{id:int}", "/pay"]
    by_name = {t["transaction"]: t for t in transactions}
    assert (
        by_name["/orders/{id:int}"]["contexts"]["trace"]["data"]["http.response.status_code"] == 200
    )
    assert by_name["/pay"]["contexts"]["trace"]["status"] == "internal_error"


async def test_sentry_init_alone_does_not_see_an_app(sentry: RecordingTransport) -> None:
    sentry_sdk.init(dsn="https://key@o0.ingest.sentry.example/1", traces_sample_rate=1.0)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    await run(App(routes=[Route("/", hello)]), "GET", "/", body=b"")
    sentry_sdk.flush()
    assert sentry.envelopes == []


# Prometheus


async def test_prometheus_recipe() -> None:
    app = run_recipe("prometheus")["app"]
    assert (await run(app, "POST", "/orders", body=b"")).status == 201
    assert (await run(app, "POST", "/orders", body=b"")).status == 201
    result = await run(app, "GET", "/metrics", body=b"")
    assert result.status == 200  # no redirect to /metrics/
    assert (result.header("content-type") or "").startswith("text/plain")
    assert "orders_placed_total 2.0" in result.text.splitlines()
    assert (await run(app, "POST", "/metrics", body=b"")).status == 405


async def test_a_mount_would_redirect_the_bare_prefix() -> None:
    """Why the recipe uses a Route: the Mount answers /metrics with a 307."""
    from prometheus_client import CollectorRegistry, make_asgi_app

    app = App(routes=[Mount("/metrics", make_asgi_app(CollectorRegistry()))])
    result = await run(app, "GET", "/metrics", body=b"")
    assert result.status == 307
    assert result.header("location") == "http://testserver/metrics/"


# Correlation ids


@pytest.fixture
def correlation() -> Iterator[tuple[dict[str, Any], io.StringIO]]:
    namespace = run_recipe("correlation-id")
    stream = io.StringIO()
    namespace["handler"].setStream(stream)
    yield namespace, stream
    namespace["logger"].removeHandler(namespace["handler"])


async def test_correlation_id_recipe_echoes_a_valid_id(
    correlation: tuple[dict[str, Any], io.StringIO],
) -> None:
    namespace, stream = correlation
    request_id = uuid.uuid4().hex
    result = await run(
        namespace["app"], "POST", "/checkout", [("x-request-id", request_id)], body=b""
    )
    assert result.header("x-request-id") == request_id
    assert json.loads(result.body) == {"request_id": request_id}
    assert stream.getvalue() == f"WARNING [{request_id}] checking out\n"


async def test_correlation_id_recipe_makes_one_up(
    correlation: tuple[dict[str, Any], io.StringIO],
) -> None:
    namespace, stream = correlation
    result = await run(namespace["app"], "POST", "/checkout", [("x-request-id", "bogus")], body=b"")
    request_id = result.header("x-request-id")
    assert request_id is not None
    assert request_id != "bogus"
    assert uuid.UUID(request_id).version == 4
    assert json.loads(result.body) == {"request_id": request_id}
    assert f"[{request_id}] checking out" in stream.getvalue()


# Access logs


@pytest.fixture
def access_app() -> App:
    namespace = run_recipe("access-log")

    async def show_user(request: Request) -> PlainTextResponse:
        return PlainTextResponse("user")

    async def fail(request: Request) -> PlainTextResponse:
        raise RuntimeError("boom")

    async def files(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    return App(
        routes=[
            Mount("/api", routes=[Route("/users/{id:int}", show_user)]),
            Route("/fail", fail),
            Mount("/files", files),
        ],
        middleware=[Middleware(namespace["AccessLogMiddleware"])],
    )


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "access"]


async def test_access_log_recipe(access_app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="access")
    await run(access_app, "GET", "/api/users/3", body=b"")
    await run(access_app, "GET", "/files/a.css", body=b"")
    await run(access_app, "GET", "/missing", body=b"")
    with pytest.raises(RuntimeError):
        await access_app(make_scope("GET", "/fail"), queue_receive([]), recorder()[1])
    lines = access_lines(caplog)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/api/users/{id}", 200),
        ("GET", "/files", 200),
        ("GET", None, 404),
        ("GET", "/fail", 500),
    ]
    assert all(isinstance(line["duration_ms"], float) for line in lines)


async def test_access_log_recipe_ignores_other_scopes(
    access_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="access")
    receive = queue_receive([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    await call(access_app, {"type": "lifespan"}, receive)
    assert access_lines(caplog) == []

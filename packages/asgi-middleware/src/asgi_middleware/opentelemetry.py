"""OpenTelemetry server spans: one per HTTP request and per WebSocket connection.

Needs opentelemetry-api: ``pip install "asgi-middleware[opentelemetry]"``. The spans
follow the stable HTTP semantic conventions; an SDK (``opentelemetry-sdk``) or a vendor
distribution decides where they go. Without a configured tracer provider the middleware
passes every connection straight through and records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:
    raise ImportError(
        "OpenTelemetryMiddleware needs opentelemetry-api: "
        'pip install "asgi-middleware[opentelemetry]"'
    ) from None

from asgi_core.datastructures import URL
from asgi_core.hosts import parse_host
from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware import __version__
from asgi_middleware._chain import Wraps

__all__ = ["OpenTelemetryMiddleware"]

# Set while a server span covers the connection, so that nested or mounted instances of
# this middleware (and Starlette's, which reads the same flag) add no second span.
_ACTIVE = "starlette.opentelemetry"
_INSTRUMENTATION_NAME = "asgi_middleware.opentelemetry"
# WebSocket spans: the handshake is a GET; the span name says what the span covers.
_WEBSOCKET = "WEBSOCKET"
_MISSING = object()


def _tracer_of(provider: trace.TracerProvider) -> trace.Tracer | None:
    """The provider's tracer for this middleware, ``None`` if it records nothing."""
    if isinstance(provider, trace.NoOpTracerProvider):
        return None
    tracer = provider.get_tracer(_INSTRUMENTATION_NAME, __version__)
    if isinstance(tracer, trace.NoOpTracer):  # an SDK switched off (OTEL_SDK_DISABLED)
        return None
    return tracer


def _global_tracer_provider() -> trace.TracerProvider | None:
    """The global tracer provider, or ``None`` while none is set.

    ``trace.get_tracer_provider()`` looks ``OTEL_PYTHON_TRACER_PROVIDER`` up in
    ``os.environ`` on every call until a provider is set (about a microsecond, the whole
    cost of an unconfigured request), so read the API's global directly; the middleware
    called ``get_tracer_provider()`` once when built, which loads a provider named by that
    variable. An API without the global falls back to the public function.
    """
    provider: Any = getattr(trace, "_TRACER_PROVIDER", _MISSING)
    if provider is _MISSING:
        return trace.get_tracer_provider()
    return cast("trace.TracerProvider | None", provider)


def _route_template(scope: Scope) -> str | None:
    """The matched route's template, prefixed with the mount path (``/api/users/{id}``).

    Reads ``scope["route"]`` after the app ran: a route publishes its template as
    ``path_format``; a mount whose app is not a router (it has ``routes`` but no inner
    route replaced it) stands for everything under its prefix, ``root_path``.
    """
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    root_path: str = scope.get("root_path", "")
    if hasattr(route, "routes"):
        return root_path or "/"
    return root_path.rstrip("/") + path_format or "/"


def _server_address(scope: Scope, host_header: str | None) -> tuple[str, int | None] | None:
    """``server.address`` and ``server.port``: the Host header's, else the scope's server."""
    parsed = parse_host(host_header) if host_header is not None else None
    server = scope.get("server")
    if parsed is not None:
        host, port = parsed
        if port is None and server is not None:
            port = server[1]
        return host.strip("[]").lower(), port
    if server is None or server[1] is None:
        return None
    return str(server[0]).lower(), server[1]


def _attributes(
    scope: Scope, headers: dict[str, list[str]], method: str, original_method: str
) -> dict[str, str | int]:
    """The request's attributes, known when the span starts (samplers see them)."""
    scheme: str = scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http")
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scheme,
    }
    if original_method != method:
        attributes["http.request.method_original"] = original_method
    query: bytes = scope.get("query_string", b"")
    if query:
        attributes["url.query"] = query.decode("latin-1")
    host = headers.get("host")
    address = _server_address(scope, host[0] if host else None)
    if address is not None:
        attributes["server.address"] = address[0]
        if address[1] is not None:
            attributes["server.port"] = address[1]
    http_version = scope.get("http_version")
    if http_version:
        attributes["network.protocol.version"] = http_version
    client = scope.get("client")
    if client is not None:
        attributes["client.address"] = client[0]
    user_agent = headers.get("user-agent")
    if user_agent:
        attributes["user_agent.original"] = user_agent[0]
    return attributes


class OpenTelemetryMiddleware(Wraps):
    """Record an OpenTelemetry server span for each HTTP request and WebSocket connection.

    The span starts as a child of the remote context that the global propagator finds
    in the request headers (W3C ``traceparent`` by default), carries the stable HTTP
    semantic-convention attributes, and is named ``METHOD /route/{template}`` once the
    app has run and a router has published the matched route in ``scope["route"]``
    (just ``METHOD`` otherwise). A 5xx response or an exception escaping the app marks
    it as an error (the exception is recorded as an event). WebSocket spans are named
    ``WEBSOCKET /route``; their status is 101 once accepted, 403 when closed before.

    Args:
        app: The ASGI application to wrap.
        excluded_urls: Regular expressions searched in the full request URL (a
            comma-separated string or a sequence); a matching request gets no span.
        tracer_provider: The tracer provider to use; by default the global one, looked up
            per connection, so it may be set after the middleware is built.
        meter_provider: Accepted for compatibility; no metrics are recorded (as in
            Starlette 1.10).

    With no tracer provider configured (the API's default, or a
    ``NoOpTracerProvider``), connections pass straight through.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_urls: str | Sequence[str] = (),
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.app = app
        if isinstance(excluded_urls, str):
            excluded_urls = [part.strip() for part in excluded_urls.split(",") if part.strip()]
        self._excluded_urls = tuple(re.compile(pattern) for pattern in excluded_urls)
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        # An explicit provider gives its tracer once; the global one is followed per
        # connection (it may be set after the app is built), its tracer cached.
        self._tracer: trace.Tracer | None = None
        self._global: tuple[trace.TracerProvider, trace.Tracer | None] | None = None
        if tracer_provider is None or isinstance(tracer_provider, trace.ProxyTracerProvider):
            self._follows_global = True
            trace.get_tracer_provider()  # loads the provider OTEL_PYTHON_TRACER_PROVIDER names
        else:
            self._follows_global = False
            self._tracer = _tracer_of(tracer_provider)

    def _global_tracer(self) -> trace.Tracer | None:
        """The global provider's tracer, or ``None`` while no provider is set."""
        provider = _global_tracer_provider()
        if provider is None or isinstance(provider, trace.ProxyTracerProvider):
            return None
        cached = self._global
        if cached is None or cached[0] is not provider:
            cached = self._global = (provider, _tracer_of(provider))
        return cached[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if (scope_type != "http" and scope_type != "websocket") or scope.get(_ACTIVE):
            await self._call(scope, receive, send)
            return
        tracer = self._global_tracer() if self._follows_global else self._tracer
        if tracer is None:
            await self._call(scope, receive, send)
            return
        scope[_ACTIVE] = True
        try:
            if self._excluded_urls:
                url = str(URL(scope=scope))
                if any(pattern.search(url) for pattern in self._excluded_urls):
                    await self._call(scope, receive, send)
                    return
            await self._traced(tracer, scope, receive, send)
        finally:
            scope.pop(_ACTIVE, None)

    async def _traced(
        self, tracer: trace.Tracer, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers") or ():
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        websocket = scope["type"] == "websocket"
        if websocket:
            original_method = method = "GET"
            prefix = _WEBSOCKET
        else:
            original_method = scope.get("method", "")
            prefix = method = original_method.upper()
        with tracer.start_as_current_span(
            prefix,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes=_attributes(scope, headers, method, original_method),
        ) as span:
            if not span.is_recording():  # sampled out: the context still flows to the app
                await self._call(scope, receive, send)
                return
            responded = False

            def record_status(status_code: int) -> None:
                nonlocal responded
                responded = True
                span.set_attribute("http.response.status_code", status_code)
                if status_code >= 500:
                    span.set_attribute("error.type", str(status_code))
                    span.set_status(Status(StatusCode.ERROR))

            async def send_traced(message: Message) -> None:
                if not responded:
                    message_type = message["type"]
                    if message_type in ("http.response.start", "websocket.http.response.start"):
                        record_status(int(message["status"]))
                    elif message_type == "websocket.accept":
                        record_status(101)
                    elif message_type == "websocket.close":
                        record_status(403)  # closed before accepting: the server answers 403
                await send(message)

            try:
                await self._call(scope, receive, send_traced)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                template = _route_template(scope)
                if template is not None:
                    span.update_name(f"{prefix} {template}")
                    span.set_attribute("http.route", template)

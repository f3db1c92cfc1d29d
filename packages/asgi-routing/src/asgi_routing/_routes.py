"""Routes: what one entry of a routing table matches, and how it handles a request."""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

from asgi_core.concurrency import run_in_threadpool
from asgi_core.datastructures import URLPath, _is_valid_host
from asgi_core.exceptions import HTTPException
from asgi_core.limits import LIMITS_KEY, get_limits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket, WebSocketClose
from asgi_responses import PlainTextResponse, Response
from asgi_routing._compile import CompiledPath, compile_template
from asgi_routing.convertors import Convertor

__all__ = [
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "WebSocketRoute",
    "get_name",
    "get_route_path",
    "method_not_allowed",
    "request_response",
    "websocket_session",
]

MiddlewareEntry = Iterable[Any]
"""Anything that unpacks into ``(cls, args, kwargs)``, such as a ``Middleware``."""


class Match(enum.Enum):
    """How well a route matches a scope: not at all, by path only, or fully."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


class NoMatchFound(Exception):
    """``url_path_for`` found no route with this name and these parameters."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        params = ", ".join(path_params)
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


def get_name(endpoint: Callable[..., Any]) -> str:
    """The default route name of an endpoint: its ``__name__`` or its class name."""
    return getattr(endpoint, "__name__", endpoint.__class__.__name__)


def get_route_path(scope: Scope) -> str:
    """The part of ``scope["path"]`` after ``root_path`` (the path includes it, per ASGI)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if len(path) == len(root_path):
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


def _is_async_callable(obj: Any) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004
    )


def _is_plain_function(endpoint: Any) -> bool:
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return inspect.isfunction(endpoint) or inspect.ismethod(endpoint)


def request_response(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> ASGIApp:
    """Turn ``func(request) -> response`` (sync functions run in a thread) into an ASGI app."""
    if _is_async_callable(func):
        async_func = cast(Callable[[Request], Awaitable[Response]], func)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await async_func(Request(scope, receive, send))
            await response(scope, receive, send)

        return app

    sync_func = cast(Callable[[Request], Response], func)

    async def sync_app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await run_in_threadpool(sync_func, Request(scope, receive, send))
        await response(scope, receive, send)

    return sync_app


def websocket_session(func: Callable[[WebSocket], Awaitable[None]]) -> ASGIApp:
    """Turn ``async func(websocket)`` into an ASGI app."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await func(WebSocket(scope, receive, send))

    return app


def _wrap(app: ASGIApp, middleware: Sequence[MiddlewareEntry] | None) -> ASGIApp:
    for cls, args, kwargs in reversed(middleware or ()):
        app = cls(app, *args, **kwargs)
    return app


def _match_params(compiled: CompiledPath, text: str, scope: Scope) -> dict[str, Any] | None:
    """Match ``text`` against a template: the merged path params, or ``None``."""
    found = compiled.match(text)
    if found is None:
        return None
    params: dict[str, Any] = found
    for name in compiled.slash_checked:
        if "/" in params[name]:
            return None
    try:
        for name, convertor in compiled.conversions:
            params[name] = convertor.convert(params[name])
    except ValueError:
        # A value the convertor refuses (an integer too long to parse, a custom
        # convertor's validation) is "no match", never a server error.
        return None
    outer = scope.get("path_params")
    if outer:
        return {**outer, **params}
    return params


def _routes_of(app: ASGIApp) -> list[BaseRoute]:
    """``app.routes`` (a Router's, say), or ``[]`` for an app without routes."""
    routes: list[BaseRoute] = getattr(app, "routes", [])
    return routes


def _render(
    compiled: CompiledPath, path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """Fill a template: ``(text, unused params)``, or ``None`` if a parameter is missing."""
    remaining = dict(path_params)
    pieces: list[str] = []
    for is_param, text in compiled.parts:
        if not is_param:
            pieces.append(text)
            continue
        if text not in remaining:
            return None
        pieces.append(compiled.convertors[text].to_string(remaining.pop(text)))
    return "".join(pieces), remaining


async def method_not_allowed(allow: str, scope: Scope, receive: Receive, send: Send) -> None:
    """405 with ``Allow``: raised as ``HTTPException`` inside an app, else answered."""
    headers = {"Allow": allow}
    if "app" in scope:
        raise HTTPException(status_code=405, headers=headers)
    response = PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)
    await response(scope, receive, send)


class BaseRoute:
    """One entry of a routing table. Subclass it for custom matching."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """How this route matches ``scope``, and the scope updates it would apply."""
        raise NotImplementedError()

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name``, or raise :class:`NoMatchFound`."""
        raise NotImplementedError()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle a request this route matched."""
        raise NotImplementedError()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Use the route on its own as an ASGI app (404 / close when it does not match)."""
        match, child_scope = self.matches(scope)
        if match is Match.NONE:
            if scope["type"] == "http":
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            elif scope["type"] == "websocket":
                await WebSocketClose()(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


class Route(BaseRoute):
    """An HTTP route: ``path`` to an endpoint.

    A function endpoint takes a :class:`Request` and returns a response (sync
    functions run in the thread pool) and defaults to ``methods=["GET"]``; any other
    endpoint is used as an ASGI app (an ``HTTPEndpoint`` subclass, for instance).
    ``HEAD`` is allowed wherever ``GET`` is. ``max_body_size`` caps the request body
    for this route (see ``asgi_core.limits``).
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Iterable[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[MiddlewareEntry] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"Routed paths must start with '/': {path!r}.")
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        self.max_body_size = max_body_size
        if _is_plain_function(endpoint):
            self.app: ASGIApp = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            self.app = endpoint
        self.app = _wrap(self.app, middleware)
        self.methods: set[str] | None = None
        if methods is not None:
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self._allow = ", ".join(sorted(self.methods or ()))
        self._compiled = compile_template(path)
        self._static = not self._compiled.convertors
        self.path_regex = self._compiled.regex
        self.path_format = self._compiled.format
        self.param_convertors: dict[str, Convertor[Any]] = self._compiled.convertors

    def _path_params(self, route_path: str, scope: Scope) -> dict[str, Any] | None:
        """The path params if ``route_path`` matches this route's path, else ``None``."""
        if self._static:
            if route_path != self.path:
                return None
            outer = scope.get("path_params")
            return dict(outer) if outer else {}
        return _match_params(self._compiled, route_path, scope)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        params = self._path_params(get_route_path(scope), scope)
        if params is None:
            return Match.NONE, {}
        child_scope = {"endpoint": self.endpoint, "path_params": params, "route": self}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params.keys() != self.param_convertors.keys():
            raise NoMatchFound(name, path_params)
        rendered = _render(self._compiled, path_params)
        assert rendered is not None  # every parameter is present
        return URLPath(path=rendered[0], protocol="http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await method_not_allowed(self._allow, scope, receive, send)
            return
        if self.max_body_size is not None:
            self._apply_body_limit(scope)
        await self.app(scope, receive, send)

    def _apply_body_limit(self, scope: Scope) -> None:
        """Set this route's ``max_body_size`` on the scope's limits, in place."""
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=self.max_body_size)

    def __repr__(self) -> str:
        methods = sorted(self.methods or ())
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, methods={methods!r})"


class WebSocketRoute(BaseRoute):
    """A WebSocket route: ``path`` to ``async endpoint(websocket)`` or an ASGI app."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        middleware: Sequence[MiddlewareEntry] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"Routed paths must start with '/': {path!r}.")
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        app: ASGIApp = websocket_session(endpoint) if _is_plain_function(endpoint) else endpoint
        self.app = _wrap(app, middleware)
        self._compiled = compile_template(path)
        self.path_regex = self._compiled.regex
        self.path_format = self._compiled.format
        self.param_convertors: dict[str, Convertor[Any]] = self._compiled.convertors

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return Match.NONE, {}
        params = _match_params(self._compiled, get_route_path(scope), scope)
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": params, "route": self}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params.keys() != self.param_convertors.keys():
            raise NoMatchFound(name, path_params)
        rendered = _render(self._compiled, path_params)
        assert rendered is not None  # every parameter is present
        return URLPath(path=rendered[0], protocol="websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """Serve everything under ``path`` with ``app`` (or a Router of ``routes``).

    The mounted app sees ``root_path`` extended by the matched prefix and the full
    ``path``. The bare prefix (``/x`` for ``Mount("/x")``) is redirected to ``/x/``
    when nothing else matches it, even in a ``Router(redirect_slashes=False)``;
    ``redirect_slash=False`` leaves it to the router's ``redirect_slashes``.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[MiddlewareEntry] | None = None,
        redirect_slash: bool = True,
    ) -> None:
        if path != "" and not path.startswith("/"):
            raise ValueError(f"Routed paths must start with '/': {path!r}.")
        if app is None and routes is None:
            raise ValueError("Mount needs an 'app' or a list of 'routes'.")
        self.path = path.rstrip("/")
        self.name = name
        self.redirect_slash = redirect_slash
        if app is None:
            from asgi_routing._router import Router

            app = Router(routes=routes)
        self._base_app: ASGIApp = app
        self.app = _wrap(app, middleware)
        self._compiled = compile_template(self.path + "/{path:path}")
        self.path_regex = self._compiled.regex
        self.path_format = self._compiled.format
        self.param_convertors: dict[str, Convertor[Any]] = self._compiled.convertors

    @property
    def routes(self) -> list[BaseRoute]:
        """The mounted app's routes (empty if it has none)."""
        return _routes_of(self._base_app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        route_path = get_route_path(scope)
        params = _match_params(self._compiled, route_path, scope)
        if params is None:
            return Match.NONE, {}
        remaining = "/" + params.pop("path")
        matched = route_path[: len(route_path) - len(remaining)]
        root_path: str = scope.get("root_path", "")
        return Match.FULL, {
            "path_params": params,
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + matched,
            "endpoint": self.app,
            "route": self,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            params = dict(path_params)
            params["path"] = str(params["path"]).lstrip("/")
            rendered = _render(self._compiled, params)
            if rendered is not None and not rendered[1]:
                return URLPath(path=rendered[0])
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            params = dict(path_params)
            path_kwarg = params.get("path")
            params["path"] = ""
            rendered = _render(self._compiled, params)
            if rendered is not None:
                prefix, remaining = rendered
                if path_kwarg is not None:
                    remaining["path"] = path_kwarg
                for route in self.routes:
                    try:
                        url = route.url_path_for(child_name, **remaining)
                    except NoMatchFound:
                        continue
                    return URLPath(path=prefix.rstrip("/") + str(url), protocol=url.protocol)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, app={self.app!r})"


def _request_host(scope: Scope) -> str | None:
    """The Host header without its port (``""`` when absent, ``None`` when malformed).

    Only a clean ``host[:port]`` (a registered name, IPv4, or a bracketed IPv6 literal,
    port <= 65535) is matched, with the validation ``request.url`` applies: anything
    carrying userinfo, a path, a query or spaces matches no ``Host`` route.
    """
    for key, value in scope.get("headers", ()):
        if key == b"host":
            host: str = value.decode("latin-1")
            if not _is_valid_host(host):
                return None
            if host.startswith("["):
                return host[: host.find("]") + 1]
            return host.split(":", 1)[0]
    return ""


class Host(BaseRoute):
    """Serve requests whose ``Host`` header matches ``host`` (``{sub}.example.org``)."""

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        if host.startswith("/"):
            raise ValueError(f"Host must not start with '/': {host!r}.")
        self.host = host
        self.app = app
        self.name = name
        self._compiled = compile_template(host)
        self.host_regex = self._compiled.regex
        self.host_format = self._compiled.format
        self.param_convertors: dict[str, Convertor[Any]] = self._compiled.convertors

    @property
    def routes(self) -> list[BaseRoute]:
        """The app's routes (empty if it has none)."""
        return _routes_of(self.app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        host = _request_host(scope)
        if host is None:
            return Match.NONE, {}
        params = _match_params(self._compiled, host, scope)
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"path_params": params, "endpoint": self.app, "route": self}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            params = dict(path_params)
            path = str(params.pop("path"))
            rendered = _render(self._compiled, params)
            if rendered is not None and not rendered[1]:
                return URLPath(path=path, host=rendered[0])
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            rendered = _render(self._compiled, path_params)
            if rendered is not None:
                host, remaining = rendered
                for route in self.routes:
                    try:
                        url = route.url_path_for(child_name, **remaining)
                    except NoMatchFound:
                        continue
                    return URLPath(path=str(url), protocol=url.protocol, host=host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, name={self.name!r}, app={self.app!r})"

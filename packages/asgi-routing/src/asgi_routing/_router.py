"""The Router: an ASGI app dispatching to the first route that matches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, SupportsIndex
from urllib.parse import quote

from asgi_core.datastructures import URL, URLPath
from asgi_core.exceptions import HTTPException
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocketClose
from asgi_responses import PlainTextResponse, RedirectResponse
from asgi_routing._compile import IndexKey
from asgi_routing._index import RouteIndex
from asgi_routing._lifespan import LifespanContext, make_lifespan_context, run_lifespan
from asgi_routing._routes import (
    BaseRoute,
    Host,
    Match,
    MiddlewareEntry,
    Mount,
    NoMatchFound,
    Route,
    WebSocketRoute,
    _wrap,
    get_route_path,
    method_not_allowed,
)

__all__ = ["Router"]

_PATH_SAFE = "/:@!$&'()*+,;=~"


class _RouteList(list[BaseRoute]):
    """A list of routes that counts its mutations, so the router knows to re-index."""

    version = 0

    def _touch(self) -> None:
        self.version += 1

    def append(self, route: BaseRoute) -> None:
        super().append(route)
        self._touch()

    def extend(self, routes: Iterable[BaseRoute]) -> None:
        super().extend(routes)
        self._touch()

    def insert(self, index: SupportsIndex, route: BaseRoute) -> None:
        super().insert(index, route)
        self._touch()

    def remove(self, route: BaseRoute) -> None:
        super().remove(route)
        self._touch()

    def pop(self, index: SupportsIndex = -1) -> BaseRoute:
        self._touch()
        return super().pop(index)

    def clear(self) -> None:
        super().clear()
        self._touch()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._touch()

    def reverse(self) -> None:
        super().reverse()
        self._touch()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._touch()

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        super().__delitem__(index)
        self._touch()

    def __iadd__(self, routes: Iterable[BaseRoute]) -> _RouteList:  # type: ignore[override,misc]
        super().__iadd__(routes)
        self._touch()
        return self

    def __imul__(self, count: SupportsIndex) -> _RouteList:
        super().__imul__(count)
        self._touch()
        return self


def _build_index(routes: Sequence[BaseRoute], scope_type: str) -> RouteIndex:
    """Index the routes that can match a ``scope_type`` scope.

    Route classes whose ``matches`` is ours are filed by their template; any other
    route (a Host, a custom class) is a barrier the index always returns.
    """
    entries: list[tuple[int, IndexKey | None]] = []
    for position, route in enumerate(routes):
        kind = type(route)
        if isinstance(route, Route) and kind.matches is Route.matches:
            if scope_type == "http":
                entries.append((position, route._compiled.key))
        elif isinstance(route, WebSocketRoute) and kind.matches is WebSocketRoute.matches:
            if scope_type == "websocket":
                entries.append((position, route._compiled.key))
        elif isinstance(route, Mount) and kind.matches is Mount.matches:
            entries.append((position, route._compiled.key))
        else:
            entries.append((position, None))
    return RouteIndex(entries)


def _plain_routes(routes: Sequence[BaseRoute]) -> list[Route | None]:
    """Per position: the route if the router may match and handle it inline.

    That is a :class:`Route` whose ``matches`` and ``handle`` are ours, so inlining
    them changes nothing; any other route (or a subclass overriding either) is ``None``.
    """
    plain: list[Route | None] = []
    for route in routes:
        kind = type(route)
        if (
            isinstance(route, Route)
            and kind.matches is Route.matches
            and kind.handle is Route.handle
        ):
            plain.append(route)
        else:
            plain.append(None)
    return plain


class Router:
    """A routing table as an ASGI app, mountable anywhere.

    The first route that fully matches handles the request, in declaration order. A
    route that matches the path but not the method answers 405 (when nothing matches
    fully); nothing matching answers 404 (``HTTPException(404)`` inside an app, so its
    handlers render it). With ``redirect_slashes``, a path that matches only with (or
    without) a trailing slash is redirected there; ``relative_redirects=True`` sends
    a path-only ``Location`` (for proxies that terminate TLS).

    Routes are compiled into an index, rebuilt whenever :attr:`routes` changes, so the
    matching cost does not grow with the number of routes.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: Callable[[Any], Any] | None = None,
        *,
        middleware: Sequence[MiddlewareEntry] | None = None,
        relative_redirects: bool = False,
    ) -> None:
        self.routes = list(routes or ())
        self.redirect_slashes = redirect_slashes
        self.relative_redirects = relative_redirects
        self.default: ASGIApp = self.not_found if default is None else default
        self.lifespan_context: LifespanContext | None = (
            None if lifespan is None else make_lifespan_context(lifespan)
        )
        self.middleware_stack: ASGIApp = _wrap(self.app, middleware)

    @property
    def routes(self) -> list[BaseRoute]:
        """The routing table; changing it (or assigning a new list) re-indexes."""
        return self._routes

    @routes.setter
    def routes(self, routes: Iterable[BaseRoute]) -> None:
        self._routes = _RouteList(routes)
        self._indexed_version = -1

    def _reindex(self) -> None:
        routes = self._routes
        self._http_index = _build_index(routes, "http")
        self._websocket_index = _build_index(routes, "websocket")
        self._http_plain = _plain_routes(routes)
        self._websocket_plain: list[Route | None] = [None] * len(routes)
        self._indexed_version = routes.version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one connection (the router without its middleware)."""
        if "router" not in scope:
            scope["router"] = self
        routes = self._routes
        if routes.version != self._indexed_version:
            self._reindex()
        scope_type = scope["type"]
        if scope_type == "http":
            index, plain = self._http_index, self._http_plain
        elif scope_type == "websocket":
            index, plain = self._websocket_index, self._websocket_plain
        elif scope_type == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        else:
            raise RuntimeError(f"Router cannot handle ASGI scope type {scope_type!r}.")
        route_path = get_route_path(scope) if scope.get("root_path") else scope["path"]
        partials: list[BaseRoute] | None = None
        partial_scope: Scope | None = None
        for position in index.candidates(route_path):
            plain_route = plain[position]
            if plain_route is not None:
                # Route.matches then Route.handle, inlined (the common case).
                params = plain_route._path_params(route_path, scope)
                if params is None:
                    continue
                methods = plain_route.methods
                if not methods or scope["method"] in methods:
                    scope["endpoint"] = plain_route.endpoint
                    scope["path_params"] = params
                    scope["route"] = plain_route
                    if plain_route.max_body_size is not None:
                        plain_route._apply_body_limit(scope)
                    await plain_route.app(scope, receive, send)
                    return
            route = routes[position]
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL:
                if partials is None:
                    partials, partial_scope = [route], child_scope
                else:
                    partials.append(route)
        if partials is not None:
            await self._partial(partials, partial_scope or {}, scope, receive, send)
            return
        if scope_type == "http" and route_path != "/":
            location = self._redirect_location(scope, route_path, index)
            if location is not None:
                await RedirectResponse(url=location)(scope, receive, send)
                return
        await self.default(scope, receive, send)

    async def _partial(
        self,
        partials: list[BaseRoute],
        partial_scope: Scope,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """The path matched, the method did not: the first such route answers."""
        scope.update(partial_scope)
        first = partials[0]
        if isinstance(first, Route) and type(first).handle is Route.handle:
            # Allow lists every method some route of this path answers.
            allowed: set[str] = set()
            for route in partials:
                if isinstance(route, Route):
                    allowed |= route.methods or set()
            await method_not_allowed(", ".join(sorted(allowed)), scope, receive, send)
            return
        await first.handle(scope, receive, send)

    def _redirect_location(self, scope: Scope, route_path: str, index: RouteIndex) -> str | None:
        """Where ``redirect_slashes`` sends this request, if the other form matches."""
        path: str = scope["path"]
        if route_path.endswith("/"):
            if not self.redirect_slashes:
                return None
            path = path.rstrip("/")
        else:
            path += "/"
        redirect_scope = dict(scope)
        redirect_scope["path"] = path
        routes = self._routes
        for position in index.candidates(get_route_path(redirect_scope)):
            route = routes[position]
            if not self.redirect_slashes and not (
                isinstance(route, Mount) and route.redirect_slash
            ):
                continue
            if route.matches(redirect_scope)[0] is not Match.NONE:
                break
        else:
            return None
        quoted = quote(path, safe=_PATH_SAFE)
        if self.relative_redirects and not quoted.startswith("//"):
            query: bytes = scope.get("query_string", b"")
            return quoted + ("?" + query.decode("latin-1") if query else "")
        return str(URL(scope={**redirect_scope, "path": quoted, "root_path": ""}))

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The default of ``default``: 404 (or a WebSocket close)."""
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        if "app" in scope:
            raise HTTPException(status_code=404)
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the ``lifespan`` scope (see :func:`run_lifespan`)."""
        await run_lifespan(self, scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` (``"mount:child"`` through mounts)."""
        for route in self._routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Append a :class:`Mount`."""
        self._routes.append(Mount(path, app=app, name=name))

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        """Append a :class:`Host`."""
        self._routes.append(Host(host, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Iterable[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Append a :class:`Route`."""
        route = Route(
            path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema
        )
        self._routes.append(route)

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None
    ) -> None:
        """Append a :class:`WebSocketRoute`."""
        self._routes.append(WebSocketRoute(path, endpoint, name=name))

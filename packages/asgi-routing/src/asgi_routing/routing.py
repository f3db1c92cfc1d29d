"""Routing: the :class:`Router` and the routes of its table (Route, WebSocketRoute,
Mount, Host), URL reversal, and the lifespan of a router and the routers it mounts.

Path templates are compiled by :mod:`asgi_routing._compile` and indexed by
:mod:`asgi_routing._index`, so the matching cost does not grow with the table.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, SupportsIndex, cast
from urllib.parse import quote

from asgi_core.concurrency import is_async_callable, run_in_threadpool
from asgi_core.datastructures import URL, URLPath, find_header
from asgi_core.exceptions import HTTPException
from asgi_core.hosts import parse_host
from asgi_core.limits import LIMITS_KEY, MAX_BODY_SIZE_SCOPE_KEY, get_limits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_core.websockets import WebSocket, WebSocketClose
from asgi_responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from asgi_routing._compile import CompiledPath, IndexKey, compile_path, compile_template
from asgi_routing._index import RouteIndex
from asgi_routing._lifespan import LifespanContext, make_lifespan_context, run_lifespan
from asgi_routing.convertors import Convertor

__all__ = [
    "PARAM_FORMAT_REGEX",
    "PARAM_REGEX",
    "BaseRoute",
    "Host",
    "Match",
    "Mount",
    "NoMatchFound",
    "Route",
    "Router",
    "WebSocketRoute",
    "compile_path",
    "get_name",
    "replace_params",
    "request_response",
    "websocket_session",
]

MiddlewareEntry = Iterable[Any]
"""Anything that unpacks into ``(cls, args, kwargs)``, such as a ``Middleware``."""

IndexEntry = IndexKey | None | Literal[False]
"""Where the router's index files a route: its key, ``None`` (a candidate for every
path: the index cannot reason about it) or ``False`` (it never matches that scope type)."""

_PATH_SAFE = "/:@!$&'()*+,;=~"
_MISSING: Any = object()
_TRAILING_PORT = re.compile(r"(?<!:):[0-9]+\Z")

PARAM_REGEX = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?\}")
"""A ``{name}`` or ``{name:type}`` parameter of a route template (group 1: the name,
group 2: ``:type`` or ``None``). ``{name:re:PATTERN}`` parameters are not covered:
:func:`compile_path` reads those."""

PARAM_FORMAT_REGEX = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
"""A ``{name}`` placeholder of a path format (``path_format``, ``host_format``)."""


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


def _get_route_path(scope: Scope) -> str:
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


def _is_plain_function(endpoint: Any) -> bool:
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return inspect.isfunction(endpoint) or inspect.ismethod(endpoint)


_EXCEPTION_HANDLERS_KEY = "starlette.exception_handlers"
"""Where an application publishes its exception handlers (Starlette 1.10's key and
contract): ``(dict[exception class, handler], dict[status code, handler])``."""


def _published_handler(scope: Scope, exc: Exception) -> Callable[..., Any] | None:
    """The handler the scope's published exception handlers give ``exc``, if any: by
    status code for an ``HTTPException`` first, then by class along the MRO."""
    published = scope.get(_EXCEPTION_HANDLERS_KEY)
    if published is None:
        return None
    by_class, by_status = published
    if isinstance(exc, HTTPException):
        handler: Callable[..., Any] | None = by_status.get(exc.status_code)
        if handler is not None:
            return handler
    for cls in type(exc).__mro__:
        handler = by_class.get(cls)
        if handler is not None:
            return handler
    return None


async def _call_handler(
    handler: Callable[..., Any], connection: Request | WebSocket, exc: Exception
) -> Any:
    if is_async_callable(handler):
        return await handler(connection, exc)
    return await run_in_threadpool(handler, connection, exc)


async def _send_handled(
    handler: Callable[..., Any], request: Request, exc: Exception, receive: Receive, send: Send
) -> None:
    """Send the response of ``handler`` for ``exc`` (called while ``exc`` is handled)."""
    response = await _call_handler(handler, request, exc)
    if response is None:
        raise RuntimeError(
            f"The exception handler {handler!r} returned no response for {exc!r}."
        ) from exc
    await response(request.scope, receive, send)
    # An exception instance raised again (a module-level constant) would otherwise
    # keep growing its traceback, and the frames it holds, request after request.
    exc.__traceback__ = None


# The responses request_response sends itself: the stock classes whose __call__ is
# Response.__call__ (a subclass may override it, so exact types only).
_SENT_HERE = frozenset(
    cls
    for cls in (Response, PlainTextResponse, JSONResponse, HTMLResponse, RedirectResponse)
    if cls.__call__ is Response.__call__
)


def request_response(
    func: Callable[[Request], Awaitable[Response] | Response],
) -> ASGIApp:
    """Turn ``func(request) -> response`` (sync functions run in a thread) into an ASGI app.

    An exception the endpoint raises is answered, where the endpoint runs, by the
    exception handlers the application published in the scope (the
    ``"starlette.exception_handlers"`` key): middleware around the route (or a mount)
    sees the handler's response, and the handler gets the endpoint's own ``Request``,
    so a body the endpoint read can be read again. Without published handlers, or
    without one for the exception, it propagates, as does anything sending the
    response raises (the application's ``ExceptionMiddleware`` then handles it).
    """
    call: Callable[[Request], Awaitable[Response]]
    if is_async_callable(func):
        call = cast(Callable[[Request], Awaitable[Response]], func)
    else:
        sync_func = cast(Callable[[Request], Response], func)

        async def call(request: Request) -> Response:
            return await run_in_threadpool(sync_func, request)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await call(request)
        except Exception as exc:
            handler = _published_handler(scope, exc)
            if handler is None:
                raise
            await _send_handled(handler, request, exc, receive, send)
            return
        # What sending the response raises goes out to the application's
        # ExceptionMiddleware, which knows whether the response started: nothing to
        # track here, so the happy path costs nothing.
        if type(response) in _SENT_HERE:
            # Response.__call__ for an HTTP scope, in this frame: one coroutine less
            # on most requests (about 2,000 instructions). test_request_response.py
            # holds it to Response.__call__.
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": response.raw_headers,
                    }
                )
                body = b"" if scope.get("method") == "HEAD" else response.body
                await send({"type": "http.response.body", "body": body})
            except OSError:
                pass  # ASGI 2.4: the server raises OSError when the client is gone.
            if response.background is not None:
                await response.background()
            return
        try:
            await response(scope, receive, send)
        except TypeError:
            if callable(response):
                raise
            raise TypeError(_not_a_response(func, response)) from None

    return app


def _not_a_response(func: Callable[..., Any], returned: object) -> str:
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    return (
        f"The endpoint {name!r} returned {type(returned).__name__} instead of a response: "
        "return a Response, for example JSONResponse(data) for a dict or "
        "Response(status_code=204) for nothing."
    )


def websocket_session(func: Callable[[WebSocket], Awaitable[None]]) -> ASGIApp:
    """Turn ``async func(websocket)`` into an ASGI app.

    An exception the endpoint raises is answered by the exception handlers the
    application published in the scope (see :func:`request_response`), with the
    endpoint's own ``WebSocket``; a response the handler returns is sent as the
    handshake's denial response.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        try:
            await func(websocket)
        except Exception as exc:
            handler = _published_handler(scope, exc)
            if handler is None:
                raise
            response = await _call_handler(handler, websocket, exc)
            if response is not None:
                await response(scope, receive, websocket.send)
            exc.__traceback__ = None

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
        for name, convert in compiled.conversions:
            params[name] = convert(params[name])
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


def replace_params(
    path: str,
    param_convertors: dict[str, Convertor[Any]],
    path_params: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """Fill the ``{name}`` placeholders of a path format with ``path_params``.

    Each value used is removed from ``path_params`` and written with its convertor's
    ``to_string``; a placeholder without a value stays as it is. Returns the text and
    ``path_params`` (what was left of it).
    """
    if not path_params:
        return path, path_params
    pieces = PARAM_FORMAT_REGEX.split(path)
    for index in range(1, len(pieces), 2):
        name = pieces[index]
        if name in path_params:
            pieces[index] = param_convertors[name].to_string(path_params.pop(name))
        else:
            pieces[index] = "{" + name + "}"
    return "".join(pieces), path_params


def _render(compiled: CompiledPath, path_params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Fill a template: ``(text, unused params)``; a missing parameter stays ``{name}``."""
    remaining = dict(path_params)
    pieces: list[str] = []
    for is_param, text in compiled.parts:
        if not is_param:
            pieces.append(text)
        elif text in remaining:
            pieces.append(compiled.convertors[text].to_string(remaining.pop(text)))
        else:
            pieces.append("{" + text + "}")
    return "".join(pieces), remaining


def _url_path(path: str, protocol: str = "", host: str = "") -> URLPath:
    """A reversed path that never reads as another authority: a backslash is written
    ``%5C`` and a leading ``//`` (from a parameter's value) ``/%2F``."""
    if "\\" in path:
        path = path.replace("\\", "%5C")
    if path.startswith("//"):
        path = "/%2F" + path[2:]
    return URLPath(path=path, protocol=protocol, host=host)


def _check_max_body_size(max_body_size: int | None) -> None:
    if max_body_size is not None and max_body_size < 0:
        raise ValueError("max_body_size must be a non-negative number of bytes or None.")


# Mistakes in a routing table are refused where the route is declared, naming it,
# rather than becoming a route that never matches or a 500 on every request.


def _check_callable(route: str, role: str, value: object, expected: str) -> None:
    if callable(value):
        return
    hint = f" Pass the {role} itself (import it), not its name." if isinstance(value, str) else ""
    raise TypeError(
        f"{route}: the {role} must be {expected}, not {type(value).__name__} {value!r}.{hint}"
    )


def _method_set(route: str, methods: Iterable[str]) -> set[str]:
    if isinstance(methods, str | bytes):
        raise TypeError(
            f"{route}: methods must be a list of method names, such as methods=[{methods!r}], "
            f"not the string {methods!r} (a string would be read letter by letter)."
        )
    found: set[str] = set()
    for method in methods:
        if not isinstance(method, str):
            raise TypeError(f"{route}: methods must hold method names (str), not {method!r}.")
        found.add(method.upper())
    return found


def _compile_route(route: str, template: str) -> CompiledPath:
    try:
        return compile_template(template)
    except ValueError as exc:
        raise ValueError(f"{route}: {exc}") from None


def _declares_more_than(scope: Scope, limit: object) -> bool:
    """Whether the request's ``Content-Length`` is above ``limit`` (not an ``int``:
    no limit). A missing or malformed length declares nothing."""
    if not isinstance(limit, int):
        return False
    value = find_header(scope.get("headers", ()), b"content-length")
    if value is None or not value.isdigit():
        return False
    digits = value.lstrip(b"0")
    # More digits than any limit has is over it (and int() is never slow).
    return len(digits) > 20 or int(digits or b"0") > limit


async def _content_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """413 before the body is read (so the connection closes): raised as
    ``HTTPException`` inside an app, else answered."""
    headers = {"Connection": "close"}
    if "app" in scope:
        raise HTTPException(status_code=413, detail="Content Too Large", headers=headers)
    response = PlainTextResponse("Content Too Large", status_code=413, headers=headers)
    await response(scope, receive, send)


def _restore(scope: Scope, key: str, previous: Any) -> None:
    if previous is _MISSING:
        scope.pop(key, None)
    else:
        scope[key] = previous


class _BodyLimit:
    """``app`` run with ``max_body_size`` as the request body limit in force.

    The limit is set under ``MAX_BODY_SIZE_SCOPE_KEY`` (and as the ``max_body_size`` of
    the scope's ``RequestLimits``) for the call, and the previous values are put back
    after it, as the key's contract says. With ``check`` (the innermost routing step:
    a route, or a mount of an app without routes), a ``Content-Length`` over the limit
    is answered 413 before ``app`` runs.
    """

    __slots__ = ("app", "check", "max_body_size")

    def __init__(self, app: ASGIApp, max_body_size: int, check: bool) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        previous = scope.get(MAX_BODY_SIZE_SCOPE_KEY, _MISSING)
        previous_limits = scope.get(LIMITS_KEY, _MISSING)
        scope[MAX_BODY_SIZE_SCOPE_KEY] = limit
        scope[LIMITS_KEY] = dataclasses.replace(get_limits(scope), max_body_size=limit)
        try:
            if self.check and _declares_more_than(scope, limit):
                await _content_too_large(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            _restore(scope, MAX_BODY_SIZE_SCOPE_KEY, previous)
            _restore(scope, LIMITS_KEY, previous_limits)


async def _method_not_allowed(allow: str, scope: Scope, receive: Receive, send: Send) -> None:
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

    # Package-internal: what the Router asks of its routes.

    def _index_entry(self, scope_type: str) -> IndexEntry:
        """Where the router's index files this route for ``scope_type`` scopes."""
        return None

    def _mounted_app(self) -> ASGIApp | None:
        """The app this route mounts (its lifespan runs with the router's), if any."""
        return None


class Route(BaseRoute):
    """An HTTP route: ``path`` to an endpoint.

    A function endpoint takes a :class:`Request` and returns a response (sync
    functions run in the thread pool) and defaults to ``methods=["GET"]``; any other
    endpoint is used as an ASGI app (an ``HTTPEndpoint`` subclass, for instance).
    ``HEAD`` is allowed wherever ``GET`` is. ``max_body_size`` is the request body
    limit for this route, in place of any limit set further out (the scope's
    ``MAX_BODY_SIZE_SCOPE_KEY``, see ``asgi_core.limits``): a ``Content-Length`` over the
    limit in force is answered 413 before the endpoint runs. A string for ``methods``
    (``"GET"``, not ``["GET"]``) or an endpoint that is not callable is a ``TypeError``,
    and a malformed ``path`` a ``ValueError``, naming the route.
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
        _check_max_body_size(max_body_size)
        route = f"Route({path!r})"
        _check_callable(
            route, "endpoint", endpoint, "a function of the request, an HTTPEndpoint or an ASGI app"
        )
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        route = f"Route({path!r}) of endpoint {get_name(endpoint)!r}"
        self.include_in_schema = include_in_schema
        self.max_body_size = max_body_size
        if _is_plain_function(endpoint):
            self.app: ASGIApp = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            self.app = endpoint
        self.app = _wrap(self.app, middleware)
        if max_body_size is not None:
            self.app = _BodyLimit(self.app, max_body_size, check=True)
        self.methods: set[str] | None = None
        if methods is not None:
            self.methods = _method_set(route, methods)
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self._allow = ", ".join(sorted(self.methods or ()))
        self._compiled = _compile_route(route, path)
        self._static = not self._compiled.convertors
        self._segment_params = self._compiled.segment_params
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
        params = self._path_params(_get_route_path(scope), scope)
        if params is None:
            return Match.NONE, {}
        child_scope = {"endpoint": self.endpoint, "path_params": params, "route": self}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params.keys() != self.param_convertors.keys():
            raise NoMatchFound(name, path_params)
        return _url_path(_render(self._compiled, path_params)[0], "http")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await _method_not_allowed(self._allow, scope, receive, send)
        elif (
            MAX_BODY_SIZE_SCOPE_KEY in scope
            and self.max_body_size is None
            and _declares_more_than(scope, scope[MAX_BODY_SIZE_SCOPE_KEY])
        ):
            await _content_too_large(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _fast_match(
        self, route_path: str, segments: list[str] | None, scope: Scope
    ) -> ASGIApp | None:
        """``matches`` then ``handle`` for the router, in one step on its hot path.

        On a full match of the HTTP ``scope`` (whose route path is ``route_path``),
        apply the child scope to ``scope`` and return the app to call (the 413 of
        :meth:`handle` when the body limit in force refuses the request). Otherwise
        return ``None`` and leave ``scope`` alone (the router then asks :meth:`matches`,
        which reports a partial match). Only valid while neither ``matches`` nor
        ``handle`` is overridden. ``segments`` are ``route_path.split("/")`` when the
        router's index found this route by them (so its literal segments match), else
        ``None``.
        """
        # _path_params, inlined: this is the hottest call of the router.
        params: dict[str, Any] | None
        if self._static:
            if route_path != self.path:
                return None
            # Only a mount sets path_params: "in" costs less than a get() call.
            if "path_params" in scope and (outer := scope["path_params"]):
                params = dict(outer)
            else:
                params = {}
        elif segments is not None and (plan := self._segment_params) is not None:
            # The regex's answer, from the segments the index split and matched.
            params = {}
            for position, name, is_int in plan:
                text = segments[position]
                if is_int:
                    if not (text.isdigit() and text.isascii()):
                        return None
                    try:
                        params[name] = int(text)
                    except ValueError:  # too many digits for int()
                        return None
                elif text:
                    params[name] = text
                else:
                    return None
            if "path_params" in scope and (outer := scope["path_params"]):
                params = {**outer, **params}
        else:
            params = _match_params(self._compiled, route_path, scope)
            if params is None:
                return None
        methods = self.methods
        if methods and scope["method"] not in methods:
            return None
        scope["endpoint"] = self.endpoint
        scope["path_params"] = params
        scope["route"] = self
        # Costs one lookup when no limit is in force; a limit of the route's own is
        # applied (and checked) by its app.
        if (
            MAX_BODY_SIZE_SCOPE_KEY in scope
            and self.max_body_size is None
            and _declares_more_than(scope, scope[MAX_BODY_SIZE_SCOPE_KEY])
        ):
            return _content_too_large
        return self.app

    def _index_entry(self, scope_type: str) -> IndexEntry:
        if type(self).matches is not Route.matches:
            return None
        return self._compiled.key if scope_type == "http" else False

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

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
        _check_callable(
            f"WebSocketRoute({path!r})",
            "endpoint",
            endpoint,
            "a function of the websocket, a WebSocketEndpoint or an ASGI app",
        )
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        app: ASGIApp = websocket_session(endpoint) if _is_plain_function(endpoint) else endpoint
        self.app = _wrap(app, middleware)
        self._compiled = _compile_route(
            f"WebSocketRoute({path!r}) of endpoint {get_name(endpoint)!r}", path
        )
        self.path_regex = self._compiled.regex
        self.path_format = self._compiled.format
        self.param_convertors: dict[str, Convertor[Any]] = self._compiled.convertors

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return Match.NONE, {}
        params = _match_params(self._compiled, _get_route_path(scope), scope)
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": params, "route": self}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params.keys() != self.param_convertors.keys():
            raise NoMatchFound(name, path_params)
        return _url_path(_render(self._compiled, path_params)[0], "websocket")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _index_entry(self, scope_type: str) -> IndexEntry:
        if type(self).matches is not WebSocketRoute.matches:
            return None
        return self._compiled.key if scope_type == "websocket" else False

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WebSocketRoute)
            and self.path == other.path
            and self.endpoint == other.endpoint
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """Serve everything under ``path`` with ``app`` (or a Router of ``routes``).

    The mounted app sees ``root_path`` extended by the matched prefix and the full
    ``path``. The bare prefix (``/x`` for ``Mount("/x")``) is redirected to ``/x/``
    when nothing else matches it, even in a ``Router(redirect_slashes=False)``;
    ``redirect_slash=False`` leaves it to the router's ``redirect_slashes``.
    ``max_body_size`` is the request body limit for everything under the mount (a
    route's own limit still wins); an app without routes mounted with a limit gets a
    413 for a ``Content-Length`` over it before it runs.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        *,
        middleware: Sequence[MiddlewareEntry] | None = None,
        max_body_size: int | None = None,
        redirect_slash: bool = True,
    ) -> None:
        if path != "" and not path.startswith("/"):
            raise ValueError(f"Routed paths must start with '/': {path!r}.")
        if app is None and routes is None:
            raise ValueError("Mount needs an 'app' or a list of 'routes'.")
        if app is not None:
            _check_callable(f"Mount({path!r})", "app", app, "an ASGI app")
        _check_max_body_size(max_body_size)
        self.path = path.rstrip("/")
        self.name = name
        self.redirect_slash = redirect_slash
        self.max_body_size = max_body_size
        self._base_app: ASGIApp = Router(routes=routes) if app is None else app
        self.app = _wrap(self._base_app, middleware)
        if max_body_size is not None:
            # The routes of a mounted router check the limit in force themselves.
            check = not _routes_of(self._base_app)
            self.app = _BodyLimit(self.app, max_body_size, check=check)
        self._compiled = _compile_route(f"Mount({path!r})", self.path + "/{path:path}")
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
        route_path = _get_route_path(scope)
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
            text, remaining = _render(self._compiled, params)
            if not remaining:
                return _url_path(text)
        elif self.name is None or name.startswith(self.name + ":"):
            # A mount parameter left out stays a "{name}" placeholder, as in Starlette.
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            params = dict(path_params)
            path_kwarg = params.get("path")
            params["path"] = ""
            prefix, remaining = _render(self._compiled, params)
            if path_kwarg is not None:
                remaining["path"] = path_kwarg
            for route in self.routes:
                try:
                    url = route.url_path_for(child_name, **remaining)
                except NoMatchFound:
                    continue
                return _url_path(prefix.rstrip("/") + str(url), url.protocol)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _index_entry(self, scope_type: str) -> IndexEntry:
        if type(self).matches is not Mount.matches:
            return None
        return self._compiled.key

    def _mounted_app(self) -> ASGIApp | None:
        return self._base_app

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mount) and self.path == other.path and self.app == other.app

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, app={self.app!r})"


def _request_host(scope: Scope) -> str | None:
    """The Host header, lower-cased, without its port (``""`` when absent, ``None``
    when malformed).

    Only a well-formed ``host[:port]`` (``asgi_core.hosts``: a registered name, IPv4,
    or a bracketed IP literal) is matched, as ``request.url`` validates it: anything
    carrying userinfo, a path, a query or spaces matches no ``Host`` route. The port is
    ignored, even one above 65535 (as in Starlette).
    """
    value = find_header(scope.get("headers", ()), b"host")
    if value is None:
        return ""
    text = value.decode("latin-1")
    parsed = parse_host(text)
    if parsed is None:
        # Perhaps only the port is out of range: match on the host without it.
        bare = _TRAILING_PORT.sub("", text, count=1)
        parsed = None if bare == text else parse_host(bare)
        if parsed is None or parsed[1] is not None:
            return None
    return parsed[0].lower()


class Host(BaseRoute):
    """Serve requests whose ``Host`` header matches ``host`` (``{sub}.example.org``)."""

    def __init__(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        if host.startswith("/"):
            raise ValueError(f"Host must not start with '/': {host!r}.")
        _check_callable(f"Host({host!r})", "app", app, "an ASGI app")
        self.host = host
        self.app = app
        self.name = name
        self._compiled = _compile_route(f"Host({host!r})", host)
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
            host, remaining = _render(self._compiled, params)
            if not remaining:
                return _url_path(path, host=host)
        elif self.name is None or name.startswith(self.name + ":"):
            child_name = name if self.name is None else name[len(self.name) + 1 :]
            host, remaining = _render(self._compiled, path_params)
            for route in self.routes:
                try:
                    url = route.url_path_for(child_name, **remaining)
                except NoMatchFound:
                    continue
                return _url_path(str(url), url.protocol, host)
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _mounted_app(self) -> ASGIApp | None:
        return self.app

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and self.host == other.host and self.app == other.app

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, name={self.name!r}, app={self.app!r})"


class _RouteList(list[BaseRoute]):
    """A list of routes that counts its mutations, so the router knows to re-index."""

    # A slot: the router reads it on every request, and a slot is the cheapest read
    # (a class attribute read through a list subclass instance is not specialized).
    __slots__ = ("version",)

    def __init__(self, routes: Iterable[BaseRoute] = ()) -> None:
        super().__init__(routes)
        self.version = 0

    def __reduce__(self) -> tuple[Any, ...]:
        # Copied and pickled (any protocol) as the list it holds, and its version.
        return _RouteList, (list(self),), (None, {"version": self.version})

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
    """Index the routes that can match a ``scope_type`` scope (see ``_index_entry``)."""
    entries: list[tuple[int, IndexKey | None]] = []
    for position, route in enumerate(routes):
        entry = route._index_entry(scope_type)
        if entry is not False:
            entries.append((position, entry))
    return RouteIndex(entries)


def _fast_routes(routes: Sequence[BaseRoute]) -> list[Route | None]:
    """Per position: the route if the router may use its ``_fast_match``.

    That is a :class:`Route` whose ``matches`` and ``handle`` are ours, so the shortcut
    changes nothing; any other route (or a subclass overriding either) is ``None``.
    """
    return [
        route
        if isinstance(route, Route)
        and type(route).matches is Route.matches
        and type(route).handle is Route.handle
        else None
        for route in routes
    ]


class Router:
    """A routing table as an ASGI app, mountable anywhere.

    The first route that fully matches handles the request, in declaration order. A
    route that matches the path but not the method answers 405 (when nothing matches
    fully); nothing matching answers 404 (``HTTPException(404)`` inside an app, so its
    handlers render it). With ``redirect_slashes``, a path that matches only with (or
    without) a trailing slash is redirected there; ``relative_redirects=True`` sends
    a path-only ``Location`` (for proxies that terminate TLS). ``max_body_size`` is the
    request body limit for everything it routes (a mount's or route's own limit still
    wins), in place of any limit set further out.

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
        max_body_size: int | None = None,
        relative_redirects: bool = False,
    ) -> None:
        _check_max_body_size(max_body_size)
        self.routes = list(routes or ())
        self.max_body_size = max_body_size
        self.redirect_slashes = redirect_slashes
        self.relative_redirects = relative_redirects
        self.default: ASGIApp = self.not_found if default is None else default
        self.lifespan_context: LifespanContext | None = (
            None if lifespan is None else make_lifespan_context(lifespan)
        )
        # A stock app() only awaits _dispatch(): without middleware, skip its coroutine.
        app = self._dispatch if type(self).app is Router.app else self.app
        self.middleware_stack: ASGIApp = _wrap(app, middleware)
        if max_body_size is not None:
            # Its routes check the limit in force (theirs or this one) themselves.
            self.middleware_stack = _BodyLimit(self.middleware_stack, max_body_size, check=False)

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
        self._http_fast = _fast_routes(routes)
        self._websocket_fast: list[Route | None] = [None] * len(routes)
        self._indexed_version = routes.version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.middleware_stack(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Router) and self.routes == other.routes

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one connection (the router without its middleware)."""
        await self._dispatch(scope, receive, send)

    def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """:meth:`app` without a coroutine of its own: route ``scope`` here, then hand
        back the awaitable of the app that answers it (a route, 405, a redirect, the
        default). Without router middleware, this is the router's ``middleware_stack``,
        so a request pays one plain call for routing."""
        if "router" not in scope:
            scope["router"] = self
        routes = self._routes
        if routes.version != self._indexed_version:
            self._reindex()
        scope_type = scope["type"]
        if scope_type == "http":
            index, fast = self._http_index, self._http_fast
        elif scope_type == "websocket":
            index, fast = self._websocket_index, self._websocket_fast
        elif scope_type == "lifespan":
            return self.lifespan(scope, receive, send)
        else:
            raise RuntimeError(f"Router cannot handle ASGI scope type {scope_type!r}.")
        route_path = _get_route_path(scope) if scope.get("root_path") else scope["path"]
        candidates = index.exact.get(route_path)
        segments: list[str] | None = None
        if candidates is None:
            candidates, segments = index.split(route_path)
        partials: list[BaseRoute] | None = None
        partial_scope: Scope | None = None
        for position in candidates:
            fast_route = fast[position]
            if fast_route is not None:
                app = fast_route._fast_match(route_path, segments, scope)
                if app is not None:
                    return app(scope, receive, send)
            route = routes[position]
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                return route.handle(scope, receive, send)
            if match is Match.PARTIAL:
                if partials is None:
                    partials, partial_scope = [route], child_scope
                else:
                    partials.append(route)
        if partials is not None:
            return self._partial(partials, partial_scope or {}, scope, receive, send)
        if scope_type == "http" and route_path != "/":
            location = self._redirect_location(scope, route_path, index)
            if location is not None:
                return RedirectResponse(url=location)(scope, receive, send)
        return self.default(scope, receive, send)

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
            await _method_not_allowed(", ".join(sorted(allowed)), scope, receive, send)
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
        for position in index.candidates(_get_route_path(redirect_scope)):
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
        """Handle the ``lifespan`` scope: this router's lifespan and those of the
        routers it mounts (through ``Mount``/``Host``, or an app's ``router``), outer
        first, with ``scope["app"]`` (else the router) as the owner passed to the
        outermost one (see ``asgi_routing._lifespan.run_lifespan``)."""
        await run_lifespan(self._lifespan_contexts(scope.get("app", self)), scope, receive, send)

    def _lifespan_contexts(self, app: Any) -> Iterator[tuple[Any, LifespanContext]]:
        """``(owner, context)`` for this router and every Router it mounts, depth first."""
        seen: set[int] = set()

        def walk(owner: Any, router: Router) -> Iterator[tuple[Any, LifespanContext]]:
            seen.add(id(router))
            if router.lifespan_context is not None:
                yield owner, router.lifespan_context
            for route in router.routes:
                mounted = route._mounted_app()
                child = mounted if isinstance(mounted, Router) else getattr(mounted, "router", None)
                if isinstance(child, Router) and id(child) not in seen:
                    yield from walk(mounted, child)

        return walk(app, self)

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

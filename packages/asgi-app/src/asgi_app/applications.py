"""The application class: a Router wrapped in a middleware stack built once."""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from asgi_app._lifespan import guard_lifespan_state
from asgi_core.datastructures import State, URLPath
from asgi_core.exceptions import ASGIDeprecationWarning
from asgi_core.limits import (
    DEFAULT_LIMITS,
    LIMITS_KEY,
    RequestLimits,
    refuse_hostile_headers,
)
from asgi_core.types import ASGIApp, Lifespan, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware.body_limit import RequestBodyLimitMiddleware
from asgi_middleware.errors import ServerErrorMiddleware
from asgi_middleware.exceptions import ExceptionMiddleware
from asgi_middleware.trustedhost import TrustedHostMiddleware
from asgi_middleware.websocket_origin import WebSocketOriginMiddleware
from asgi_routing import BaseRoute, Router

if TYPE_CHECKING:
    from asgi_middleware.csrf import CSRFConfig

__all__ = ["App", "AppType", "P"]

AppType = TypeVar("AppType", bound="App")
"""The type of the application a lifespan is given (a subclass of :class:`App`)."""

P = ParamSpec("P")
"""The parameters of a middleware class, after the app it wraps."""

ExceptionHandler = Callable[..., Any]
ExceptionHandlers = Mapping[Any, ExceptionHandler]


class _MiddlewareFactory(Protocol[P]):
    """A middleware class: ``cls(app, *args, **kwargs)`` is an ASGI app."""

    def __call__(
        self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs
    ) -> ASGIApp: ...  # pragma: no cover - typing only


def _context_manager_lifespan(lifespan: Lifespan[Any]) -> Lifespan[Any]:
    """``lifespan``, with a plain (undecorated) generator function turned into a
    context manager factory, as Starlette 1.10 still accepts it, with a warning."""
    if inspect.isasyncgenfunction(lifespan):
        warnings.warn(
            "async generator function lifespans are deprecated, "
            "use an @contextlib.asynccontextmanager function instead",
            ASGIDeprecationWarning,
            stacklevel=3,
        )
        return contextlib.asynccontextmanager(lifespan)
    if inspect.isgeneratorfunction(lifespan):
        warnings.warn(
            "generator function lifespans are deprecated, "
            "use an @contextlib.asynccontextmanager function instead",
            ASGIDeprecationWarning,
            stacklevel=3,
        )
        return contextlib.contextmanager(lifespan)  # type: ignore[return-value]
    return lifespan


def _for_websockets(app: ASGIApp, guard_class: Any, allow_origins: Any) -> ASGIApp:
    """Route WebSocket handshakes through ``guard_class(app, allow_origins=...)`` and hand
    every other scope straight on: the inner app's own awaitable is returned, so an HTTP
    request pays one plain call here, not a coroutine. A function, not an object with a
    ``__call__``: calling an instance costs about 700 instructions more (on CPython 3.11
    the call goes through the type's call slot). Only ever inside App's stack (a server
    would take a callable that is not a coroutine function for an ASGI2 app)."""
    guard: ASGIApp = guard_class(app, allow_origins=allow_origins)

    def for_websockets(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            return guard(scope, receive, send)
        return app(scope, receive, send)

    return for_websockets


class App:
    """An ASGI application: routes, middleware, exception handlers and a lifespan.

    Requests flow through ``ServerErrorMiddleware`` (outermost), the request body limit
    when ``max_body_size`` is set, the user's middleware in the order given,
    ``ExceptionMiddleware`` and finally the router. The stack is built on the first
    call and never rebuilt; adding middleware after that is an error.

    ``limits`` replaces the default :class:`~asgi_core.limits.RequestLimits` (body
    buffering, JSON depth, form fields and files, part and spool sizes) for every
    request; ``max_body_size`` caps whole bodies, streams and uploads included, with a
    413, and a route's ``max_body_size`` overrides it.

    ``csrf=True`` (or a :class:`~asgi_middleware.csrf.CSRFConfig`) adds
    ``CSRFMiddleware`` after the user's middleware (so proxy headers are applied
    first): unsafe requests from other sites get 403. Off by default, as in Starlette.

    Every request's header section is checked first (``RequestLimits.max_headers``
    and ``max_header_size``: 431; more than one ``Host``: 400). WebSocket handshakes
    from another site are refused (403) unless ``websocket_origins`` lists their
    origin (``None``, the default: same-origin only; ``["*"]``: any origin), by a
    ``WebSocketOriginMiddleware`` after the user's middleware (innermost, so that an
    HTTP request passes it at the cost of one plain call). ``allowed_hosts``
    (for example ``["example.com", "*.example.com"]``) adds ``TrustedHostMiddleware``
    there too, so that ``url_for`` and redirects never use a ``Host`` the app does
    not serve.
    """

    def __init__(
        self: AppType,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: ExceptionHandlers | None = None,
        lifespan: Lifespan[AppType] | None = None,
        *,
        max_body_size: int | None = None,
        limits: RequestLimits | None = None,
        csrf: bool | CSRFConfig = False,
        websocket_origins: Sequence[str] | None = None,
        allowed_hosts: Sequence[str] | None = None,
    ) -> None:
        if max_body_size is not None and max_body_size < 0:
            raise ValueError("max_body_size must be a non-negative number of bytes or None")
        self.debug = debug
        self.max_body_size = max_body_size
        self.limits = limits
        self.csrf = csrf  # CSRFMiddleware, innermost of the user's middleware
        self.websocket_origins = websocket_origins
        self.allowed_hosts = allowed_hosts
        self.state = State()
        if lifespan is not None:
            lifespan = _context_manager_lifespan(lifespan)
        self.router = Router(routes, lifespan=lifespan)
        self.exception_handlers: dict[Any, ExceptionHandler] = dict(exception_handlers or {})
        self.user_middleware: list[Middleware] = list(middleware or [])
        self.middleware_stack: ASGIApp | None = None

    def build_middleware_stack(self) -> ASGIApp:
        error_handler: ExceptionHandler | None = None
        handlers: dict[Any, ExceptionHandler] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        stack: list[Middleware] = [
            Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)
        ]
        if self.max_body_size is not None:
            stack.append(Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size))
        stack += self.user_middleware
        if self.allowed_hosts is not None:
            stack.append(Middleware(TrustedHostMiddleware, allowed_hosts=self.allowed_hosts))
        if self.csrf:
            # Opt-in: its module (and its regexes) loads only for an app that asks for it.
            from asgi_middleware.csrf import CSRFConfig

            stack.append((CSRFConfig() if self.csrf is True else self.csrf).middleware())
        stack.append(Middleware(ExceptionMiddleware, handlers=handlers, debug=self.debug))
        # Innermost (still after the user's middleware, so proxy headers apply first): an
        # HTTP request passes it without a coroutine of its own, and ServerError- and
        # ExceptionMiddleware stay adjacent, sharing one send tracker.
        stack.append(Middleware(_for_websockets, WebSocketOriginMiddleware, self.websocket_origins))
        router = self.router
        # A stock Router's __call__ only forwards to its own stack: go there directly.
        app: ASGIApp = (
            router.middleware_stack if type(router).__call__ is Router.__call__ else router
        )
        for cls, args, kwargs in reversed(stack):
            app = cls(app, *args, **kwargs)
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        return self.router.routes

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return self.router.url_path_for(name, **path_params)

    # Until a lifespan scope arrives, requests get state that explains its absence.
    _lifespan_seen = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if not self._lifespan_seen:
            no_lifespan = self.router.lifespan_context is None
            self._lifespan_seen = no_lifespan or guard_lifespan_state(scope)
        if "router" not in scope:
            # url_for() works before routing (in middleware), as Starlette's does.
            scope["router"] = self.router
        limits = self.limits
        if limits is None:
            limits = DEFAULT_LIMITS
        else:
            scope[LIMITS_KEY] = limits
        headers = scope.get("headers")
        if headers:
            # check_headers(headers, limits), inlined: one pass, no allocation, no call
            # (~430 instructions). Only a header section it would refuse (or one that is
            # not a list) goes on to refuse_hostile_headers(), which decides with
            # check_headers() itself; tests/app/test_hostile.py holds them equal.
            size = hosts = 0
            if type(headers) is list and len(headers) <= limits.max_headers:
                for name, value in headers:
                    size += len(name) + len(value)
                    if name == b"host":
                        hosts += 1
            else:
                hosts = 2
            if (hosts > 1 or size > limits.max_header_size) and (
                refusal := refuse_hostile_headers(scope)
            ) is not None:
                await refusal(scope, receive, send)
                return
        stack = self.middleware_stack
        if stack is None:
            stack = await self._build_at_first_call(scope, receive, send)
        # Through __call__ explicitly: a method call, about 700 instructions cheaper than
        # calling the instance (CPython 3.11 goes through the type's call slot for that).
        await stack.__call__(scope, receive, send)  # type: ignore[operator]

    async def _build_at_first_call(self, scope: Scope, receive: Receive, send: Send) -> ASGIApp:
        """Build the stack; a middleware that cannot be built (a missing extra, a wrong
        argument) fails the lifespan startup with its message, so the server stops at
        startup instead of answering every request with a 500."""
        try:
            self.middleware_stack = stack = self.build_middleware_stack()
            return stack
        except Exception as exc:
            if scope["type"] == "lifespan":
                await receive()  # lifespan.startup
                message = f"the middleware stack could not be built: {exc!r}"
                await send({"type": "lifespan.startup.failed", "message": message})
            raise

    def add_middleware(
        self, middleware_class: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        if self.middleware_stack is not None:
            raise RuntimeError(
                "Cannot add middleware after the application has started: the middleware "
                "stack is built on the first request. Pass middleware=[...] to App() or "
                "call add_middleware() before serving."
            )
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self, exc_class_or_status_code: Any, handler: ExceptionHandler
    ) -> None:
        # Starlette silently ignores a handler added after the first request; here it
        # is an error, for the same reason as add_middleware().
        if self.middleware_stack is not None:
            raise RuntimeError(
                "Cannot add an exception handler after the application has started. Pass "
                "exception_handlers={...} to App() or add it before serving."
            )
        self.exception_handlers[exc_class_or_status_code] = handler

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        self.router.mount(path, app=app, name=name)

    def host(self, host: str, app: ASGIApp, name: str | None = None) -> None:
        self.router.host(host, app=app, name=name)

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.router.add_route(
            path, route, methods=methods, name=name, include_in_schema=include_in_schema
        )

    def add_websocket_route(
        self, path: str, route: Callable[..., Any], name: str | None = None
    ) -> None:
        self.router.add_websocket_route(path, route, name=name)

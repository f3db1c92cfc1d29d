"""The lifespan protocol: start-up and shut-down of a router and the routers it mounts."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from asgi_core.types import Receive, Scope, Send

if TYPE_CHECKING:  # pragma: no cover
    from asgi_routing._router import Router

__all__ = ["LifespanContext", "make_lifespan_context", "run_lifespan"]

LifespanContext = Callable[[Any], AbstractAsyncContextManager[Mapping[str, Any] | None]]


class _SyncContext(AbstractAsyncContextManager[Any]):
    """A sync context manager used where an async one is expected."""

    def __init__(self, manager: AbstractContextManager[Any]) -> None:
        self._manager = manager

    async def __aenter__(self) -> Any:
        return self._manager.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return self._manager.__exit__(exc_type, exc, tb)


def make_lifespan_context(lifespan: Callable[[Any], Any]) -> LifespanContext:
    """Accept a factory of async or sync context managers; return an async one."""

    def context(app: Any) -> AbstractAsyncContextManager[Mapping[str, Any] | None]:
        manager = lifespan(app)
        if hasattr(manager, "__aenter__"):
            async_manager: AbstractAsyncContextManager[Mapping[str, Any] | None] = manager
            return async_manager
        if hasattr(manager, "__enter__"):
            return _SyncContext(manager)
        raise TypeError(
            f"lifespan must return an async or sync context manager, not {type(manager).__name__}"
            " (decorate it with @contextlib.asynccontextmanager)."
        )

    return context


def _routers(router: Router, app: Any) -> Iterator[tuple[Any, Router]]:
    """``(owner, router)`` for ``router`` and every Router mounted in it, depth first."""
    from asgi_routing._router import Router
    from asgi_routing._routes import Host, Mount

    seen: set[int] = set()

    def walk(owner: Any, current: Router) -> Iterator[tuple[Any, Router]]:
        seen.add(id(current))
        yield owner, current
        for route in current.routes:
            if isinstance(route, Mount):
                mounted: Any = route._base_app
            elif isinstance(route, Host):
                mounted = route.app
            else:
                continue
            child = mounted if isinstance(mounted, Router) else getattr(mounted, "router", None)
            if isinstance(child, Router) and id(child) not in seen:
                yield from walk(mounted, child)

    yield from walk(app, router)


async def run_lifespan(router: Router, scope: Scope, receive: Receive, send: Send) -> None:
    """Speak the ASGI lifespan protocol for ``router`` and its mounted routers.

    Contexts are entered outer router first and exited in reverse. The state each
    yields is merged into ``scope["state"]``, which the server copies into every
    request's scope. A failure is reported with ``lifespan.startup.failed`` (or
    ``lifespan.shutdown.failed``) carrying the traceback, then re-raised.
    """
    app = scope.get("app", router)
    state: dict[str, Any] | None = scope.get("state")
    started = False
    await receive()
    try:
        async with AsyncExitStack() as stack:
            for owner, current in _routers(router, app):
                if current.lifespan_context is None:
                    continue
                value = await stack.enter_async_context(current.lifespan_context(owner))
                if value is None:
                    continue
                if state is None:
                    raise RuntimeError(
                        'The lifespan yielded state, but the server does not support "state" '
                        "in the lifespan scope."
                    )
                state.update(value)
            await send({"type": "lifespan.startup.complete"})
            started = True
            await receive()
    except Exception:
        message = traceback.format_exc()
        kind = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
        await send({"type": kind, "message": message})
        raise
    await send({"type": "lifespan.shutdown.complete"})

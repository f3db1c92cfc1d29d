"""The ASGI lifespan protocol: entering and exiting a chain of lifespan contexts.

Knows nothing of routers: ``Router.lifespan`` hands :func:`run_lifespan` the contexts
of the router and of the routers it mounts, outer first.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack
from types import TracebackType
from typing import Any

from asgi_core.types import Receive, Scope, Send

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


async def run_lifespan(
    contexts: Iterable[tuple[Any, LifespanContext]], scope: Scope, receive: Receive, send: Send
) -> None:
    """Speak the ASGI lifespan protocol for ``(owner, context)`` pairs.

    Each ``context(owner)`` is entered in order and exited in reverse. The state each
    yields is merged into ``scope["state"]``, which the server copies into every
    request's scope. A failure is reported with ``lifespan.startup.failed`` (or
    ``lifespan.shutdown.failed``) carrying the traceback, then re-raised.
    """
    state: dict[str, Any] | None = scope.get("state")
    started = False
    await receive()
    try:
        async with AsyncExitStack() as stack:
            for owner, context in contexts:
                value = await stack.enter_async_context(context(owner))
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

"""Run blocking code in a worker thread without blocking the event loop."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

import anyio
import anyio.to_thread

from asgi_core.exceptions import ASGIDeprecationWarning

__all__ = [
    "is_async_callable",
    "iterate_in_threadpool",
    "run_in_threadpool",
    "run_until_first_complete",
]

P = ParamSpec("P")
T = TypeVar("T")

_EXHAUSTED = object()


def is_async_callable(obj: object) -> bool:
    """Whether calling ``obj`` returns a coroutine, so the caller should await it.

    True for an ``async def`` function or method, for a ``functools.partial`` (nested
    partials included) around one, and for an instance whose ``__call__`` is an
    ``async def`` method. False for everything else, including classes: calling a
    class builds an instance, even when its instances have an ``async def __call__``.
    """
    while isinstance(obj, functools.partial):
        obj = obj.func
    if isinstance(obj, type):
        return False
    if inspect.iscoroutinefunction(obj):
        return True
    return callable(obj) and inspect.iscoroutinefunction(getattr(obj, "__call__", None))  # noqa: B004


async def run_until_first_complete(
    *args: tuple[Callable[..., Awaitable[Any]], dict[str, Any]],
) -> None:
    """Run each ``func(**kwargs)`` of the ``(func, kwargs)`` pairs concurrently; when the
    first one returns, cancel the others and return.

    Deprecated (as in Starlette): warns with
    :class:`~asgi_core.exceptions.ASGIDeprecationWarning`. Use an anyio task group and
    cancel its scope instead.
    """
    warnings.warn(
        "run_until_first_complete is deprecated and will be removed in a future version; "
        "use an anyio task group and cancel its scope when the first task returns.",
        ASGIDeprecationWarning,
        stacklevel=2,
    )
    async with anyio.create_task_group() as group:

        async def until_done(func: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> None:
            await func(**kwargs)
            group.cancel_scope.cancel()

        for func, kwargs in args:
            group.start_soon(until_done, func, kwargs)


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``func(*args, **kwargs)`` in anyio's worker thread pool and return its result.

    Context variables set by the caller are visible inside ``func``.
    """
    if kwargs:
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))
    return await anyio.to_thread.run_sync(func, *args)


def _next(iterator: Iterator[T]) -> T | object:
    return next(iterator, _EXHAUSTED)


async def iterate_in_threadpool(iterator: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a blocking (sync) iterable, running each ``next()`` in a worker thread."""
    as_iterator = iter(iterator)
    while True:
        item = await anyio.to_thread.run_sync(_next, as_iterator)
        if item is _EXHAUSTED:
            return
        yield cast(T, item)

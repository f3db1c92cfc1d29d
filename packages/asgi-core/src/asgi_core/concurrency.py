"""Run blocking code in a worker thread without blocking the event loop."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import ParamSpec, TypeVar, cast

import anyio.to_thread

__all__ = ["iterate_in_threadpool", "run_in_threadpool"]

P = ParamSpec("P")
T = TypeVar("T")

_EXHAUSTED = object()


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

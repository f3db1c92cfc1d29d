"""Small helpers shared by the error, exception and authentication middleware."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from asgi_core.concurrency import run_in_threadpool

T = TypeVar("T")


def _b_is_async_callable(obj: Any) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, partials, objects with
    an ``async def __call__``)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004
    )


async def _b_call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Await ``handler(*args)`` if it is async, else run it in the threadpool."""
    if _b_is_async_callable(handler):
        return await handler(*args)
    return await run_in_threadpool(handler, *args)

"""Calling user handlers that may be sync or async (error handlers, ``on_error``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgi_core.concurrency import is_async_callable, run_in_threadpool


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Await ``handler(*args)`` if it is async, else run it in the threadpool."""
    if is_async_callable(handler):
        return await handler(*args)
    return await run_in_threadpool(handler, *args)

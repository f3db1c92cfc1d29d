"""The app as one task with a message stream each way (lifespan, websocket sessions)."""

from __future__ import annotations

import math
from contextlib import AsyncExitStack

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AppTask", "leave"]


class AppTask:
    """Runs the app once (``_run``) and lets the client stop it (``aclose``).

    ``_to_app_in`` feeds the app's ``receive``; what the app sends goes to
    ``_from_app_in``, read from ``_from_app``. Must be created in the event loop.
    """

    def __init__(self, app: ASGIApp, timeout: float | None) -> None:
        self._app = app
        self._timeout = timeout
        self._to_app_in: MemoryObjectSendStream[Message]
        self._to_app: MemoryObjectReceiveStream[Message]
        self._from_app_in: MemoryObjectSendStream[Message]
        self._from_app: MemoryObjectReceiveStream[Message]
        self._to_app_in, self._to_app = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app_in, self._from_app = anyio.create_memory_object_stream[Message](math.inf)
        self._cancel_scope = anyio.CancelScope()
        self._finished = anyio.Event()
        self._error: Exception | None = None

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with self._cancel_scope:
                await self._app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - re-raised in the test, or a 500
            self._error = exc
        finally:
            self._from_app_in.close()
            self._finished.set()

    async def aclose(self) -> None:
        """Cancel the app's task and wait until it has stopped."""
        self._cancel_scope.cancel()
        await self._finished.wait()
        self._close_streams()

    def _close_streams(self) -> None:
        for stream in (self._to_app_in, self._to_app, self._from_app_in, self._from_app):
            stream.close()


async def leave(stack: AsyncExitStack, task_group: TaskGroup) -> None:
    """Cancel what still runs in ``task_group`` and leave it without passing it an error.

    Errors propagate from the caller unchanged: a task group would wrap them in an
    ExceptionGroup, and the test would see that instead of its own exception.
    """
    task_group.cancel_scope.cancel()
    await stack.aclose()

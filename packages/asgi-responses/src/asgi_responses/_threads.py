"""One worker-thread hop for the blocking file work of a response, cheap on asyncio.

``anyio.to_thread.run_sync`` costs about four times the instructions of the hop itself
(a cancel scope, a capacity limiter, a worker queue with a condition variable, the
context copy). On asyncio, :func:`run_sync` hands the call to a small pool of daemon
threads of its own through a ``SimpleQueue`` and gets the outcome back with
``loop.call_soon_threadsafe``; elsewhere (trio) it is ``anyio.to_thread.run_sync``.

As with anyio, the call sees a copy of the caller's context variables. If the awaiting
task is cancelled, the call still runs to its end in its thread (closing what it
opened) and its outcome is dropped, where anyio would wait for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

__all__ = ["MAX_WORKERS", "run_sync"]

T = TypeVar("T")

# At most this many threads do file work at once; they wait for work once started.
MAX_WORKERS = 16

if TYPE_CHECKING:
    # asyncio is not imported here: an app on asyncio has it loaded already, and one on
    # trio (or a plain `import asgi_app`) should not pay for it.
    import asyncio

    _Job = tuple[
        asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]
    ]


class _Pool:
    """Daemon threads taking jobs from one queue; a thread is added when none is idle."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.workers = 0
        self.idle = 0  # threads waiting for a job that no submitted job has claimed

    def submit(self, job: _Job) -> None:
        with self.lock:
            if self.idle:
                self.idle -= 1
                spawn = False
            else:
                spawn = self.workers < MAX_WORKERS
                self.workers += spawn
        self.jobs.put(job)
        if spawn:
            name = f"asgi-responses-file-{self.workers}"
            threading.Thread(target=self.work, name=name, daemon=True).start()

    def work(self) -> None:
        jobs, lock = self.jobs, self.lock
        while True:
            loop, future, func, args = jobs.get()
            try:
                result, error = func(*args), None
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                result, error = None, exc
            # A closed loop raises RuntimeError: nobody waits for this outcome any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)
            del loop, future, func, args, result, error  # keep no body while idle
            with lock:
                self.idle += 1


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.done():
        return  # the awaiting task was cancelled
    if error is None:
        future.set_result(result)
    elif isinstance(error, StopIteration):  # a future refuses StopIteration
        future.set_exception(RuntimeError(f"StopIteration raised in a worker thread: {error!r}"))
    else:
        future.set_exception(error)


_pool = _Pool()


def _reset_after_fork() -> None:
    """A forked child has none of the parent's threads (and maybe a held lock)."""
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX only
    os.register_at_fork(after_in_child=_reset_after_fork)


async def run_sync(func: Callable[..., T], *args: Any) -> T:
    """Call ``func(*args)`` in a worker thread and return (or raise) what it does."""
    aio = sys.modules.get("asyncio")
    try:
        task = None if aio is None else aio.current_task()
    except RuntimeError:  # no asyncio loop in this thread: trio
        task = None
    if task is None:
        # The general path: anyio's worker threads (trio, or asyncio code run outside a task).
        return await anyio.to_thread.run_sync(func, *args)
    loop = task.get_loop()
    future: asyncio.Future[T] = loop.create_future()
    _pool.submit((loop, future, contextvars.copy_context().run, (func, *args)))
    return await future

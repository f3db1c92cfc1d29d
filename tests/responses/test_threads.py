"""The worker-thread hop of the responses' file work (``asgi_responses._threads``).

On asyncio it is the module's own pool (the fast path); on trio, anyio's worker
threads (the general path). Both must run the call off the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import anyio
import pytest

from asgi_responses import _threads

pytestmark = pytest.mark.anyio


async def test_runs_in_another_thread_and_returns_the_result() -> None:
    assert await _threads.run_sync(threading.get_ident) != threading.get_ident()
    assert await _threads.run_sync(pow, 2, 10) == 1024


async def test_an_exception_reaches_the_caller() -> None:
    def fail() -> None:
        raise PermissionError("denied")

    with pytest.raises(PermissionError, match="denied"):
        await _threads.run_sync(fail)


async def test_stop_iteration_becomes_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="StopIteration"):
        await _threads.run_sync(next, iter(()))


async def test_concurrent_calls_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(3, timeout=10)
    results: list[int] = []

    async def one() -> None:
        results.append(await _threads.run_sync(barrier.wait))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(one)
    assert sorted(results) == [0, 1, 2]


async def test_a_cancelled_caller_leaves_the_call_to_finish_and_drops_its_outcome() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        finished.set()
        return "late"

    with anyio.move_on_after(0.05):
        await _threads.run_sync(slow)
    release.set()
    assert await anyio.to_thread.run_sync(finished.wait, 10)
    assert await _threads.run_sync(str, "next") == "next"  # the pool still serves


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_pool_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "MAX_WORKERS", 1)
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    idents = [await _threads.run_sync(threading.get_ident) for _ in range(3)]
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(_threads.run_sync, idents.append, 0)
    assert _threads._pool.workers == 1
    assert len(set(idents[:3])) == 1


def test_a_closed_loop_does_not_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_pool", _threads._Pool())
    release = threading.Event()

    async def abandon() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(_threads.run_sync(release.wait, 10), 0.01)

    asyncio.run(abandon())
    release.set()  # the call ends after its loop is closed
    for _ in range(500):  # bounded wait for the worker to be idle again
        if _threads._pool.idle:
            break
        time.sleep(0.01)

    async def again() -> int:
        return await _threads.run_sync(abs, -3)

    assert asyncio.run(again()) == 3
    assert _threads._pool.workers == 1  # the same worker served both


def test_a_forked_child_starts_a_new_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_pool", _threads._pool)  # restored afterwards
    before = _threads._pool
    _threads._reset_after_fork()
    assert _threads._pool is not before
    assert _threads._pool.workers == 0


async def test_the_call_sees_the_callers_context_variables() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    request_id.set("r-1")
    assert await _threads.run_sync(request_id.get) == "r-1"
    await _threads.run_sync(request_id.set, "changed in the thread")
    assert request_id.get() == "r-1"  # a copy: the caller's value is unchanged

from __future__ import annotations

import functools
import threading

import pytest

from asgi_core.background import BackgroundTask, BackgroundTasks

pytestmark = pytest.mark.anyio


async def test_sync_task_runs_in_threadpool_with_arguments() -> None:
    calls: list[tuple[int, str, int]] = []
    main = threading.get_ident()

    def record(a: int, b: str, *, c: int) -> None:
        calls.append((a, b, threading.get_ident()))
        calls.append((c, b, 0))

    task = BackgroundTask(record, 1, "x", c=2)
    assert task.func is record
    assert task.args == (1, "x")
    assert task.kwargs == {"c": 2}
    assert not task.is_async
    await task()
    assert calls[0][:2] == (1, "x")
    assert calls[0][2] != main
    assert calls[1] == (2, "x", 0)


async def test_async_task_is_awaited_in_the_event_loop() -> None:
    main = threading.get_ident()
    seen: list[int] = []

    async def record(value: int) -> None:
        seen.append(value)
        seen.append(threading.get_ident())

    task = BackgroundTask(record, value=7)
    assert task.is_async
    await task()
    assert seen == [7, main]


async def test_async_detection_sees_through_partials_and_callable_objects() -> None:
    seen: list[str] = []

    async def record(prefix: str, value: str) -> None:
        seen.append(prefix + value)

    class AsyncCallable:
        async def __call__(self, value: str) -> None:
            seen.append("obj" + value)

    partial_task = BackgroundTask(functools.partial(functools.partial(record, "p"), "1"))
    object_task = BackgroundTask(AsyncCallable(), "2")
    assert partial_task.is_async
    assert object_task.is_async
    await partial_task()
    await object_task()
    assert seen == ["p1", "obj2"]


async def test_background_tasks_run_in_order() -> None:
    order: list[str] = []

    async def async_step(name: str) -> None:
        order.append(name)

    tasks = BackgroundTasks(tasks=[BackgroundTask(order.append, "first")])
    tasks.add_task(async_step, "second")
    tasks.add_task(order.append, "third")
    assert len(tasks.tasks) == 3
    await tasks()
    assert order == ["first", "second", "third"]


async def test_background_tasks_default_is_empty_and_is_a_task() -> None:
    tasks = BackgroundTasks()
    assert tasks.tasks == []
    assert isinstance(tasks, BackgroundTask)
    await tasks()


async def test_failing_task_stops_the_following_ones() -> None:
    order: list[str] = []

    def fail() -> None:
        raise RuntimeError("task failed")

    tasks = BackgroundTasks()
    tasks.add_task(order.append, "before")
    tasks.add_task(fail)
    tasks.add_task(order.append, "after")
    with pytest.raises(RuntimeError, match="task failed"):
        await tasks()
    assert order == ["before"]

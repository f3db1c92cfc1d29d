from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Iterator

import anyio
import pytest

from asgi_core.concurrency import (
    is_async_callable,
    iterate_in_threadpool,
    run_in_threadpool,
    run_until_first_complete,
)
from asgi_core.exceptions import ASGIDeprecationWarning, StarletteDeprecationWarning

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


async def test_run_in_threadpool_runs_in_another_thread() -> None:
    main = threading.get_ident()
    worker = await run_in_threadpool(threading.get_ident)
    assert worker != main


async def test_run_in_threadpool_positional_and_keyword_arguments() -> None:
    def combine(a: int, b: int, *, scale: int = 1) -> int:
        return (a - b) * scale

    assert await run_in_threadpool(combine, 5, 2) == 3
    assert await run_in_threadpool(combine, 5, b=1, scale=10) == 40


async def test_run_in_threadpool_propagates_exceptions() -> None:
    def fail() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await run_in_threadpool(fail)


async def test_context_variables_propagate_into_the_thread() -> None:
    request_id.set("abc")
    assert await run_in_threadpool(request_id.get) == "abc"

    def read_with_default(*, default: str) -> str:
        return request_id.get(default)

    assert await run_in_threadpool(read_with_default, default="none") == "abc"


async def test_iterate_in_threadpool_yields_all_items() -> None:
    assert [item async for item in iterate_in_threadpool([1, 2, 3])] == [1, 2, 3]
    assert [item async for item in iterate_in_threadpool([])] == []


async def test_iterate_in_threadpool_runs_next_in_worker_threads() -> None:
    main = threading.get_ident()

    def gen() -> Iterator[int]:
        for _ in range(3):
            yield threading.get_ident()

    idents = [ident async for ident in iterate_in_threadpool(gen())]
    assert len(idents) == 3
    assert main not in idents


async def test_iterate_in_threadpool_yields_none_items_and_propagates_errors() -> None:
    def gen() -> Iterator[int | None]:
        yield None
        yield 0
        raise ValueError("broken iterator")

    seen: list[int | None] = []

    async def consume() -> None:
        async for item in iterate_in_threadpool(gen()):
            seen.append(item)

    with pytest.raises(ValueError, match="broken iterator"):
        await consume()
    assert seen == [None, 0]


async def _coroutine_function(value: int) -> int:
    return value


def _sync_function(value: int) -> int:
    return value


class _AsyncCall:
    async def __call__(self, value: int) -> int:
        return value

    async def method(self, value: int) -> int:
        return value


class _NotCallable:
    pass


class _SyncCall:
    def __call__(self, value: int) -> int:
        return value


def test_is_async_callable_true() -> None:
    partial = functools.partial(_coroutine_function, 1)
    assert is_async_callable(_coroutine_function)
    assert is_async_callable(partial)
    assert is_async_callable(functools.partial(functools.partial(_coroutine_function), 1))
    assert is_async_callable(_AsyncCall())
    assert is_async_callable(_AsyncCall().method)
    assert is_async_callable(functools.partial(_AsyncCall(), 1))


def test_is_async_callable_false() -> None:
    assert not is_async_callable(_sync_function)
    assert not is_async_callable(functools.partial(_sync_function, 1))
    assert not is_async_callable(_SyncCall())
    assert not is_async_callable(print)
    assert not is_async_callable(None)
    assert not is_async_callable(42)
    # a class is not an async callable, even when its instances are
    assert not is_async_callable(_AsyncCall)
    assert not is_async_callable(functools.partial(_AsyncCall))
    assert not is_async_callable(_SyncCall)


def test_is_async_callable_needs_a_callable() -> None:
    # an instance attribute named __call__ does not make an object callable
    not_callable = _NotCallable()
    not_callable.__call__ = _coroutine_function  # type: ignore[attr-defined]
    assert not callable(not_callable)
    assert not is_async_callable(not_callable)


# --- run_until_first_complete (deprecated, as in Starlette) ---------------------------


async def test_run_until_first_complete_cancels_the_others_when_one_returns() -> None:
    events: list[str] = []

    async def quick(name: str) -> None:
        await anyio.sleep(0)
        events.append(name)

    async def slow() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            events.append("slow cancelled")

    with pytest.warns(StarletteDeprecationWarning, match="run_until_first_complete") as record:
        await run_until_first_complete((slow, {}), (quick, {"name": "quick"}))
    assert events == ["quick", "slow cancelled"]
    assert record[0].category is ASGIDeprecationWarning
    assert record[0].filename == __file__


async def test_run_until_first_complete_lets_an_error_through() -> None:
    async def boom() -> None:
        raise ValueError("boom")

    with (
        pytest.warns(ASGIDeprecationWarning),
        pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="boom")),
    ):
        await run_until_first_complete((boom, {}), (anyio.sleep_forever, {}))

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from asgi_core.concurrency import iterate_in_threadpool, run_in_threadpool

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

"""The lifespan protocol, state, and lifespans of mounted routers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgi_driver import call, queue_receive, run, run_lifespan

from asgi_core.requests import Request
from asgi_core.types import Receive, Scope, Send
from asgi_responses import JSONResponse, Response
from asgi_routing import Host, Mount, Route, Router

pytestmark = pytest.mark.anyio

STARTED = {"type": "lifespan.startup.complete"}
STOPPED = {"type": "lifespan.shutdown.complete"}


def recording(events: list[str], name: str, state: dict[str, Any] | None = None) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any] | None]:
        events.append(f"start {name} {type(app).__name__}")
        yield state
        events.append(f"stop {name}")

    return lifespan


async def test_lifespan_state_reaches_requests() -> None:
    async def show(request: Request) -> Response:
        return JSONResponse({"db": request.state.db})

    events: list[str] = []
    app = Router([Route("/", show)], lifespan=recording(events, "app", {"db": "connected"}))
    state: dict[str, Any] = {}
    sent, error = await run_lifespan(app, state=state)
    assert (sent, error) == ([STARTED, STOPPED], None)
    assert events == ["start app Router", "stop app"]
    assert state == {"db": "connected"}
    # The server copies the lifespan state into each request's scope.
    result = await run(app, "GET", "/", state=dict(state))
    assert result.text == '{"db":"connected"}'


async def test_no_lifespan() -> None:
    sent, error = await run_lifespan(Router([]))
    assert (sent, error) == ([STARTED, STOPPED], None)


async def test_sync_lifespan() -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def lifespan(app: Any) -> Iterator[dict[str, Any]]:
        events.append("start")
        yield {"sync": True}
        events.append("stop")

    state: dict[str, Any] = {}
    sent, error = await run_lifespan(Router([], lifespan=lifespan), state=state)
    assert (sent, error) == ([STARTED, STOPPED], None)
    assert events == ["start", "stop"]
    assert state == {"sync": True}


async def test_lifespan_must_return_a_context_manager() -> None:
    def lifespan(app: Any) -> None:
        return None

    sent, error = await run_lifespan(Router([], lifespan=lifespan))
    assert isinstance(error, TypeError)
    assert "asynccontextmanager" in str(error)
    assert sent[0]["type"] == "lifespan.startup.failed"


async def test_state_without_server_support() -> None:
    app = Router([], lifespan=recording([], "app", {"x": 1}))
    sent, error = await run_lifespan(app)
    assert isinstance(error, RuntimeError)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert 'does not support "state"' in sent[0]["message"]


async def test_startup_failure_is_reported_and_reraised() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        raise ConnectionError("database unreachable")
        yield  # pragma: no cover

    sent, error = await run_lifespan(Router([], lifespan=lifespan))
    assert isinstance(error, ConnectionError)
    assert [message["type"] for message in sent] == ["lifespan.startup.failed"]
    assert "ConnectionError: database unreachable" in sent[0]["message"]


async def test_shutdown_failure_is_reported_and_reraised() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        raise ValueError("flush failed")

    sent, error = await run_lifespan(Router([], lifespan=lifespan))
    assert isinstance(error, ValueError)
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.failed",
    ]
    assert "flush failed" in sent[1]["message"]


class AppLike:
    """An application object exposing its router, as App does."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)


async def test_mounted_routers_run_their_lifespans() -> None:
    events: list[str] = []
    deep = Router([], lifespan=recording(events, "deep", {"deep": 1}))
    inner = Router([Mount("/deep", app=deep)], lifespan=recording(events, "inner", {"inner": 1}))
    no_lifespan = Router([Mount("/deep-again", app=deep)])
    wrapped = AppLike(Router([], lifespan=recording(events, "wrapped", {"wrapped": 1})))
    hosted = Router([], lifespan=recording(events, "hosted"))
    outer = Router(
        [
            Mount("/inner", app=inner),
            Mount("/plain", app=no_lifespan),
            Mount("/wrapped", app=wrapped),
            Mount("/static", app=JSONResponse({})),
            Host("api.example.org", app=hosted),
            Route("/", JSONResponse({})),
        ],
        lifespan=recording(events, "outer", {"outer": 1}),
    )
    state: dict[str, Any] = {}
    sent, error = await run_lifespan(outer, state=state)
    assert (sent, error) == ([STARTED, STOPPED], None)
    assert events == [
        "start outer Router",
        "start inner Router",
        "start deep Router",
        "start wrapped AppLike",
        "start hosted Router",
        "stop hosted",
        "stop wrapped",
        "stop deep",
        "stop inner",
        "stop outer",
    ]
    assert state == {"outer": 1, "inner": 1, "deep": 1, "wrapped": 1}


async def test_lifespan_receives_the_app_from_the_scope() -> None:
    events: list[str] = []
    router = Router([], lifespan=recording(events, "r"))
    owner = AppLike(router)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await call(owner, {"type": "lifespan", "app": owner}, queue_receive(incoming))
    assert events == ["start r AppLike", "stop r"]
    assert sent == [STARTED, STOPPED]

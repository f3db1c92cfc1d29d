"""A server that never runs the lifespan (Daphne, uvicorn --lifespan off): reading the
lifespan's state says so, instead of a bare AttributeError."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_driver import run, run_lifespan, run_websocket

from asgi_app import App, JSONResponse, Request, Route, WebSocket, WebSocketRoute

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
    yield {"db": "connected"}


async def read_db(request: Request) -> JSONResponse:
    request.state.seen = True  # what the request itself sets is there as usual
    return JSONResponse({"db": request.state.db, "seen": request.state.seen})


async def probe(request: Request) -> JSONResponse:
    return JSONResponse({"has_db": hasattr(request.state, "db")})


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(str(websocket.state.db))


def make_app(**kwargs: Any) -> App:
    routes = [Route("/", read_db), Route("/probe", probe), WebSocketRoute("/ws", socket)]
    return App(routes=routes, **kwargs)


async def test_missing_lifespan_is_named() -> None:
    app = make_app(lifespan=lifespan)
    with pytest.raises(AttributeError, match="the server never ran it") as info:
        await run(app, "GET", "/")
    assert "request.state has no 'db'" in str(info.value)
    assert "Daphne" in str(info.value)
    assert "docs/deploy.md" in str(info.value)
    # a server that sends an empty state (uvicorn --lifespan off) gets the same answer
    with pytest.raises(AttributeError, match="never ran it"):
        await run(app, "GET", "/", state={})
    # hasattr() still answers False
    assert json.loads((await run(app, "GET", "/probe")).body) == {"has_db": False}
    with pytest.raises(AttributeError, match="never ran it"):
        await run_websocket(app, "/ws")
    # state that is there (an outer app ran the lifespan) is used as it is
    result = await run(app, "GET", "/", state={"db": "from the outer app"})
    assert json.loads(result.body)["db"] == "from the outer app"


async def test_after_the_lifespan_ran_state_is_plain() -> None:
    app = make_app(lifespan=lifespan)
    state: dict[str, Any] = {}
    sent, error = await run_lifespan(app, state=state)
    assert error is None
    assert sent[0]["type"] == "lifespan.startup.complete"
    result = await run(app, "GET", "/", state=dict(state))
    assert json.loads(result.body) == {"db": "connected", "seen": True}
    with pytest.raises(AttributeError) as info:
        await run(app, "GET", "/", state={})
    assert "never ran it" not in str(info.value)


async def test_apps_without_a_lifespan_are_left_alone() -> None:
    app = make_app()
    with pytest.raises(AttributeError) as info:
        await run(app, "GET", "/")
    assert "never ran it" not in str(info.value)

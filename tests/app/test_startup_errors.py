"""A middleware that cannot be built fails the application at startup, never per request."""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import call, queue_receive

from asgi_app import App, Middleware
from asgi_core.types import ASGIApp


class NeedsAnExtra:
    def __init__(self, app: ASGIApp) -> None:
        raise ImportError('Install it with: pip install "asgi-middleware[sessions]"')


def broken_app() -> App:
    return App(middleware=[Middleware(NeedsAnExtra)])


@pytest.mark.anyio
async def test_lifespan_startup_fails_with_the_middleware_error() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    receive = queue_receive([{"type": "lifespan.startup"}])
    with pytest.raises(ImportError, match="asgi-middleware"):
        await broken_app()({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "the middleware stack could not be built: ImportError('Install it "
            'with: pip install "asgi-middleware[sessions]"\')',
        }
    ]


@pytest.mark.anyio
async def test_a_request_without_lifespan_raises_the_same_error() -> None:
    with pytest.raises(ImportError, match="asgi-middleware"):
        await call(broken_app(), {"type": "http", "method": "GET", "path": "/"}, queue_receive([]))


def test_the_test_client_reports_it_at_startup() -> None:
    from asgi_testkit import TestClient

    with pytest.raises(ImportError, match="asgi-middleware"), TestClient(broken_app()):
        pass  # pragma: no cover - startup fails

"""What ``App`` does when the server never runs the lifespan (Daphne, ``--lifespan off``).

The lifespan's state reaches requests because the server copies ``scope["state"]`` of
the lifespan scope into every request's scope. A server that speaks no lifespan
protocol never starts the lifespan, so that state is simply missing, and
``request.state.db`` would fail with a bare ``AttributeError``. Until the app has seen
a ``lifespan`` scope, a request's empty state is replaced by :class:`LifespanStateMissing`,
a ``dict`` whose missing keys raise an ``AttributeError`` naming the cause.
"""

from __future__ import annotations

from typing import Any

from asgi_core.types import Scope

__all__ = ["LifespanStateMissing", "guard_lifespan_state"]

_MESSAGE = (
    "request.state has no {key!r}: this application has a lifespan, but the server never "
    "ran it (no 'lifespan' scope arrived in this process), so nothing the lifespan yields "
    "is in request.state. Daphne does not implement the ASGI lifespan protocol, and "
    "uvicorn skips it with --lifespan off: serve the app with uvicorn, gunicorn with "
    "uvicorn workers, hypercorn or granian (see docs/deploy.md), or, in tests, enter the "
    "test client as a context manager (with TestClient(app) as client: ...)."
)


class LifespanStateMissing(dict[str, Any]):
    """Request state of an app whose lifespan did not run: reading a missing key raises
    an ``AttributeError`` that says why (``State`` passes it on as it is)."""

    def __missing__(self, key: str) -> Any:
        raise AttributeError(_MESSAGE.format(key=key))


def guard_lifespan_state(scope: Scope) -> bool:
    """Called for every scope until it returns ``True``: the lifespan scope has arrived
    (the guard is no longer needed). Otherwise a request without lifespan state gets
    :class:`LifespanStateMissing` in ``scope["state"]``."""
    if scope["type"] == "lifespan":
        return True
    if not scope.get("state"):
        scope["state"] = LifespanStateMissing()
    return False

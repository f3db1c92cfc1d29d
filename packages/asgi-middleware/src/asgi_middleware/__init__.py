"""Pure ASGI middleware that works around any ASGI app: CORS, compression, sessions,
trusted hosts, proxy headers, errors, authentication, body limits, WSGI.

Each middleware lives in a module of its own (``asgi_middleware.cors``,
``asgi_middleware.errors``...), so importing one never imports the others or their
optional dependencies. This module holds :class:`Middleware`, the declaration an
application uses to build its middleware stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ParamSpec, Protocol

from asgi_core.types import ASGIApp

__version__ = "0.1.0"

__all__ = ["Middleware"]

P = ParamSpec("P")


class _MiddlewareFactory(Protocol[P]):
    """Anything that wraps an ASGI app: ``cls(app, *args, **kwargs)`` is an ASGI app."""

    def __call__(
        self, app: ASGIApp, /, *args: P.args, **kwargs: P.kwargs
    ) -> ASGIApp:  # pragma: no cover - typing only
        ...


class Middleware:
    """A middleware class and the arguments to build it with, applied later.

    ``Middleware(CORSMiddleware, allow_origins=["*"])`` unpacks as
    ``(cls, args, kwargs)``, so a stack builder can write
    ``for cls, args, kwargs in reversed(middleware): app = cls(app, *args, **kwargs)``.
    """

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: _MiddlewareFactory[P], *args: P.args, **kwargs: P.kwargs) -> None:
        self.cls = cls
        self.args: tuple[Any, ...] = args
        self.kwargs: dict[str, Any] = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def build(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app``: ``cls(app, *args, **kwargs)``."""
        return self.cls(app, *self.args, **self.kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Middleware):
            return NotImplemented
        return (self.cls, self.args, self.kwargs) == (other.cls, other.args, other.kwargs)

    __hash__ = None  # type: ignore[assignment]  # mutable arguments: not hashable

    def __repr__(self) -> str:
        name = getattr(self.cls, "__name__", None) or repr(self.cls)
        parts = [name]
        parts += [repr(value) for value in self.args]
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

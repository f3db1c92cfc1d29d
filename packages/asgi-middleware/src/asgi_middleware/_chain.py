"""How a middleware calls the app it wraps at the lowest cost.

On CPython, calling an instance whose class defines ``async def __call__`` goes through
the type's call slot: about 700 instructions more per hop (CPython 3.11) than calling
the same ``__call__`` as a bound method, which the interpreter runs in its own frame
loop. A function is cheapest called as it is. :class:`Wraps` keeps, next to ``app``,
the cheapest callable that does what ``app(...)`` does, and keeps it in step whenever
``app`` is assigned (by ``__init__`` or later).
"""

from __future__ import annotations

from types import FunctionType, MethodType
from typing import Any

from asgi_core.types import ASGIApp


def direct_call(app: ASGIApp) -> ASGIApp:
    """``app``'s class's own ``__call__`` bound to ``app`` when it is a plain Python
    function (what calling ``app`` runs, without the call slot), else ``app`` itself
    (functions, bound methods, partials, builtins, ``staticmethod`` ``__call__``)."""
    found = next((vars(k)["__call__"] for k in type(app).__mro__ if "__call__" in vars(k)), None)
    return MethodType(found, app) if type(found) is FunctionType else app


class Wraps:
    """Base of the middleware here: assigning ``app`` also sets ``_call``, what the
    middleware awaits (:func:`direct_call`). Reads of ``app`` stay plain attributes."""

    __slots__ = ()
    _call: ASGIApp

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "app":
            object.__setattr__(self, "_call", direct_call(value))

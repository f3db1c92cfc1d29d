"""Request limits: how much of a request body the framework will read or hold.

Starlette has no such limits; these give every request safe defaults. A
:class:`RequestLimits` lives in the scope under :data:`LIMITS_KEY`; routing, the
application or middleware replace it (``dataclasses.replace``) to tighten or relax one
value for a route. Code that reads bodies asks :func:`get_limits`.

Exceeding a limit raises ``HTTPException(413)``; malformed bodies raise
``HTTPException(400)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from asgi_core.types import Scope

__all__ = ["DEFAULT_LIMITS", "LIMITS_KEY", "MAX_BODY_SIZE_SCOPE_KEY", "RequestLimits", "get_limits"]

LIMITS_KEY = "asgi_app.limits"
"""The scope key holding the request's :class:`RequestLimits`."""

MAX_BODY_SIZE_SCOPE_KEY = "starlette.max_body_size"
"""The scope key holding the request body limit in force, an ``int`` number of bytes
(Starlette 1.10's key and contract): whoever narrows or widens the limit for the code it
calls sets it for the call and restores the previous value (or removes the key) after;
whoever reads the body enforces the value present when it reads. Routing and
``asgi_middleware.body_limit`` keep ``RequestLimits.max_body_size`` equal to it."""


@dataclass(frozen=True)
class RequestLimits:
    """Bounds on what reading a request body may cost.

    - ``max_body_size``: hard cap on the total body bytes read in any way (stream,
      forms, files); ``None`` means no cap.
    - ``max_buffered_size``: cap on what ``body()``, ``json()`` and urlencoded forms
      hold in memory (2.5 MiB).
    - ``max_json_depth``: deepest nesting of arrays/objects ``json()`` accepts.
    - ``max_fields`` / ``max_files``: how many form fields / uploaded files.
    - ``max_part_size``: size of a non-file multipart part held in memory.
    - ``spool_max_size``: an ``UploadFile`` rolls over to disk past this size.
    """

    max_body_size: int | None = None
    max_buffered_size: int = 2_621_440
    max_json_depth: int = 64
    max_fields: int = 1000
    max_files: int = 1000
    max_part_size: int = 1_048_576
    spool_max_size: int = 1_048_576


DEFAULT_LIMITS = RequestLimits()
"""The limits used when the scope holds none."""


def get_limits(scope: Scope) -> RequestLimits:
    """Return the scope's :class:`RequestLimits`, or the defaults if it has none."""
    limits = scope.get(LIMITS_KEY)
    if isinstance(limits, RequestLimits):
        return limits
    return DEFAULT_LIMITS

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

from asgi_core.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "DEFAULT_LIMITS",
    "LIMITS_KEY",
    "MAX_BODY_SIZE_SCOPE_KEY",
    "RequestLimits",
    "check_headers",
    "get_limits",
    "refuse_hostile_headers",
]

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
    - ``max_upload_memory``: what all the uploaded files of one request hold in memory
      together (4 MiB); an upload that would pass it rolls over to disk at once.
    - ``max_upload_disk``: what the uploaded files of one request may write to disk
      together (1 GiB; 413 past it); ``None`` means no cap.
    - ``max_message_size``: the largest WebSocket message the application receives
      (1 MiB, counted in UTF-8 bytes for text); a larger one closes the connection
      with 1009. ``None`` leaves the bound to the server.
    - ``max_headers`` / ``max_header_size``: how many request header lines, and how
      many bytes of names and values together, ``App`` accepts (100 and 64 KiB;
      431 past them). Servers have limits of their own, some none at all.
    """

    max_body_size: int | None = None
    max_buffered_size: int = 2_621_440
    max_json_depth: int = 64
    max_fields: int = 1000
    max_files: int = 1000
    max_part_size: int = 1_048_576
    spool_max_size: int = 1_048_576
    max_upload_memory: int = 4_194_304
    max_upload_disk: int | None = 1_073_741_824
    max_message_size: int | None = 1_048_576
    max_headers: int = 100
    max_header_size: int = 65_536


DEFAULT_LIMITS = RequestLimits()
"""The limits used when the scope holds none."""


def get_limits(scope: Scope) -> RequestLimits:
    """Return the scope's :class:`RequestLimits`, or the defaults if it has none."""
    limits = scope.get(LIMITS_KEY)
    if isinstance(limits, RequestLimits):
        return limits
    return DEFAULT_LIMITS


def check_headers(
    headers: list[tuple[bytes, bytes]], limits: RequestLimits
) -> tuple[int, str] | None:
    """What is wrong with a request's header section, as ``(status, message)``, or ``None``.

    More than ``limits.max_headers`` lines or ``limits.max_header_size`` bytes of names
    and values is a 431; more than one ``Host`` line (RFC 9112, section 3.2: also two
    identical ones) a 400. One pass over the list, no allocation.
    """
    if len(headers) > limits.max_headers:
        return 431, f"Too many request headers (limit: {limits.max_headers})."
    size = 0
    hosts = 0
    for name, value in headers:
        size += len(name) + len(value)
        if name == b"host":
            hosts += 1
    if size > limits.max_header_size:
        return 431, f"The request headers are too large (limit: {limits.max_header_size} bytes)."
    if hosts > 1:
        return 400, "A request may carry only one Host header."
    return None


def refuse_hostile_headers(scope: Scope) -> ASGIApp | None:
    """An ASGI app refusing the request when its headers break :func:`check_headers`
    (with the scope's :class:`RequestLimits`), else ``None``. Lifespan scopes pass.

    Call it once per request at the application's entry::

        if (refusal := refuse_hostile_headers(scope)) is not None:
            return await refusal(scope, receive, send)
    """
    headers = scope.get("headers")
    if not headers:
        return None
    if type(headers) is not list:
        # ASGI allows any iterable; keep one list in the scope, as Headers(scope=) does.
        headers = scope["headers"] = list(headers)
    limits = scope.get(LIMITS_KEY)
    if not isinstance(limits, RequestLimits):
        limits = DEFAULT_LIMITS
    problem = check_headers(headers, limits)
    if problem is None:
        return None
    return _Refusal(*problem)


class _Refusal:
    """Answer with ``status`` and a plain-text ``message``; a WebSocket handshake gets
    the same as a denial response, or a close (HTTP 403) without that extension."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.body = message.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = ""
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            if "websocket.http.response" not in (scope.get("extensions") or {}):
                await send({"type": "websocket.close", "code": 1008, "reason": ""})
                return
            prefix = "websocket."
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(self.body)),
            (b"connection", b"close"),
        ]
        await send(
            {"type": prefix + "http.response.start", "status": self.status, "headers": headers}
        )
        await send({"type": prefix + "http.response.body", "body": self.body})

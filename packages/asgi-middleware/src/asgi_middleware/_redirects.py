"""``Location`` values for redirects to the same request on another scheme or host.

Pure functions over the scope: the request target is rebuilt so that no byte a lenient
server passed through can end or split the header.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from asgi_core.hosts import format_host
from asgi_core.types import Scope

# Bytes that may go into a Location header as they are: visible ASCII (0x21-0x7E).
_UNSAFE_TARGET = re.compile(rb"[^\x21-\x7e]")
_VISIBLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))


def _visible(raw: bytes) -> str:
    """``raw`` as text, every byte outside 0x21-0x7E percent-encoded (existing escapes kept)."""
    if _UNSAFE_TARGET.search(raw):
        return quote(raw, safe=_VISIBLE_ASCII)
    return raw.decode("ascii")


def request_target(scope: Scope) -> str:
    """The request's path and query string, percent-encoded, for a ``Location``.

    Bytes a lenient server may pass through (CR, LF, NUL, other controls, spaces,
    non-ASCII) are percent-encoded, so they can never end or split the header.
    """
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(b"/"):
        path = _visible(raw)
    else:
        path = quote(scope.get("path", "/") or "/", safe="/:@!$&'()*+,;=-._~")
    query = scope.get("query_string", b"")
    return f"{path}?{_visible(query)}" if query else path


def redirect_location(scope: Scope, scheme: str, host: str, port: int | None) -> bytes:
    """``scheme://host[:port]`` followed by the request's target, as a header value."""
    return f"{scheme}://{format_host(host, port)}{request_target(scope)}".encode("latin-1")

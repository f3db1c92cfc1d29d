"""Hosts as the middleware compare them: ``asgi_core.hosts``' grammar, then normalized.

``Host`` values and origins repeat from request to request, so the normalized result
is kept in a small cache (bounded: cleared when full).
"""

from __future__ import annotations

from asgi_core.hosts import parse_host

_CACHE: dict[str, tuple[str, int | None] | None] = {}
_CACHE_SIZE = 1024


def _normalize(value: str) -> tuple[str, int | None] | None:
    parsed = parse_host(value)
    if parsed is None:
        return None
    host, port = parsed
    if host[:1] == "[" and host[1:2] != "v":
        host = host[1:-1]  # an IPv6 address: compared (and formatted) without brackets
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # "example.com." is the fully qualified "example.com"
    return (host, port) if host else None


def normalized_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port or None)`` of a ``host[:port]`` value; ``None`` if malformed.

    The grammar is :func:`asgi_core.hosts.parse_host`'s (RFC 3986). The host is
    lower-cased, loses the trailing dot of a fully qualified name, and an IPv6 address
    loses its brackets (an IPvFuture literal keeps them); :func:`asgi_core.hosts.format_host`
    turns the pair back into a netloc. A value that normalizes to nothing (``"."``)
    is malformed.
    """
    try:
        return _CACHE[value]
    except KeyError:
        pass
    result = _normalize(value)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[value] = result
    return result

"""Web origins: parsing, the request's own origin, and trusted-origin matching.

Pure functions over ``str`` and the ASGI scope, shared by every middleware that decides
whether a browser request comes from a page it trusts: ``WebSocketOriginMiddleware``
(handshakes) and ``CSRFMiddleware`` (unsafe HTTP methods). Hosts follow
:func:`asgi_core.hosts.parse_host`'s grammar, normalized by ``_hosts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias

from asgi_core.hosts import format_host
from asgi_core.types import Scope
from asgi_middleware._hosts import normalized_host

Origin: TypeAlias = tuple[str, str, int | None]
"""``(lowercase scheme, lowercase host, port or None when absent or the default)``."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The web origin of a page has an http(s) scheme; a WebSocket's ws(s) maps onto it.
_WEB_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def parse_origin(value: str) -> Origin | None:
    """Split a serialized origin into (lowercase scheme, lowercase host, port or None).

    The port is ``None`` when absent or the scheme's default (80 for http, 443 for
    https). ``None`` is returned for anything that is not ``scheme://host[:port]``:
    the opaque origin ``"null"``, a path, userinfo, a list of origins, junk.
    """
    scheme, separator, rest = value.partition("://")
    if not separator or _SCHEME.fullmatch(scheme) is None:
        return None
    host_port = normalized_host(rest)
    if host_port is None:
        return None
    scheme = scheme.lower()
    host, port = host_port
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, host, port


def serialize_origin(origin: Origin) -> str:
    """``scheme://host[:port]``, as browsers serialize an origin."""
    scheme, host, port = origin
    return f"{scheme}://{format_host(host, port)}"


def normalize_origin(value: str) -> str | None:
    """``value`` as browsers serialize it (lowercase, no default port), or ``None``."""
    parsed = parse_origin(value)
    return None if parsed is None else serialize_origin(parsed)


def url_origin(url: str) -> Origin | None:
    """The origin of an absolute URL (a ``Referer``): its scheme and authority.

    ``None`` when the URL has no ``scheme://`` authority or carries userinfo (browsers
    never send one in ``Referer``).
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return None
    end = len(rest)
    for delimiter in "/?#":
        index = rest.find(delimiter)
        if 0 <= index < end:
            end = index
    return parse_origin(f"{scheme}://{rest[:end]}")


def request_origin(scope: Scope, host: bytes | None) -> Origin | None:
    """The origin a same-origin page has: the request's scheme and ``Host`` value.

    ``host`` is the request's only ``Host`` header (``None`` when it is missing or
    repeated, which never matches); a malformed one gives ``None`` too.
    """
    scheme = _WEB_SCHEMES.get(scope.get("scheme", "http"))
    if scheme is None or host is None:
        return None
    host_port = normalized_host(host.decode("latin-1"))
    if host_port is None:
        return None
    name, port = host_port
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    return scheme, name, port


def normalized_origins(origins: Iterable[str], *, strict: bool) -> frozenset[str]:
    """The serialized form of each origin in ``origins`` (``"*"`` is skipped).

    An entry that is not an origin is a ``ValueError`` when ``strict``, else skipped.
    """
    result: set[str] = set()
    for origin in origins:
        if origin == "*":
            continue
        normalized = normalize_origin(origin)
        if normalized is not None:
            result.add(normalized)
        elif strict:
            raise ValueError(
                f"{origin!r} is not an origin: write it as 'scheme://host[:port]', like "
                "'https://example.com' (no path, no trailing slash)"
            )
    return frozenset(result)


def compile_origin_regex(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    """``pattern`` compiled (a compiled one is kept as is)."""
    return None if pattern is None else re.compile(pattern)


def origin_trusted(
    origin: Origin,
    *,
    own: Origin | None,
    origins: frozenset[str],
    regex: re.Pattern[str] | None,
) -> bool:
    """Whether ``origin`` is the request's ``own`` origin, one of ``origins`` (serialized)
    or matched whole by ``regex``."""
    if own is not None and origin == own:
        return True
    serialized = serialize_origin(origin)
    if serialized in origins:
        return True
    return regex is not None and regex.fullmatch(serialized) is not None

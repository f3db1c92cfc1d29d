"""One host grammar for the whole framework: the ``host[:port]`` of a ``Host`` header.

The grammar is RFC 3986's authority without userinfo (which HTTP forbids in ``Host``):

- ``host`` is a reg-name (letters, digits, ``-._~``, the sub-delims ``!$&'()*+,;=`` and
  ``%XX`` escapes), which covers dotted IPv4 addresses, or an IP literal in brackets:
  an IPv6 address (checked with :mod:`ipaddress`; zone ids are refused) or an IPvFuture
  ``[v<hex>.<chars>]`` (with a lower-case ``v``: :func:`urllib.parse.urlsplit`, which
  ``URL`` uses, refuses ``V``, so accepting it would make ``request.url`` raise).
- ``port`` is any number of digits (leading zeros allowed) up to 65535; ``host:`` with
  an empty port means no port.

Anything else (a path, query or fragment, userinfo, whitespace, control or non-ASCII
characters, an empty host) is malformed. The functions are pure and never raise on any
string; values longer than 1024 characters are refused without being scanned.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["format_host", "is_valid_host", "parse_host"]

# The longest ``Host`` value accepted (DNS names stop at 253 characters).
_MAX_LENGTH = 1024

_UNRESERVED_SUB_DELIMS = r"A-Za-z0-9\-._~!$&'()*+,;="
_HOST_RE = re.compile(
    # an IPv6 literal, an IPvFuture literal, or a reg-name (checked for escapes below)
    rf"(\[(?:([0-9A-Fa-f:.]+)|v[0-9A-Fa-f]+\.[{_UNRESERVED_SUB_DELIMS}:]+)\]"
    rf"|[{_UNRESERVED_SUB_DELIMS}%]+)"
    r"(?::([0-9]*))?"
)
_PCT_ENCODED_NAME_RE = re.compile(rf"(?:[{_UNRESERVED_SUB_DELIMS}]|%[0-9A-Fa-f]{{2}})+")
# Hosts repeat: remember the result for short values, in a cache cleared when full.
_CACHE: dict[str, tuple[str, int | None] | None] = {}
_CACHE_SIZE = 1024
_CACHED_LENGTH = 256


def _parse(value: str) -> tuple[str, int | None] | None:
    match = _HOST_RE.fullmatch(value)
    if match is None:
        return None
    host, ipv6, port_text = match.groups()
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
    elif "%" in host and _PCT_ENCODED_NAME_RE.fullmatch(host) is None:
        return None
    if not port_text:
        return host, None
    port_text = port_text.lstrip("0")
    # More than five significant digits is over 65535 (and int() is never slow).
    if len(port_text) > 5:
        return None
    port = int(port_text or "0")
    if port > 65535:
        return None
    return host, port


def parse_host(value: str) -> tuple[str, int | None] | None:
    """Split a ``Host`` header value (``host[:port]``) into ``(host, port)``.

    ``host`` is returned as given: not lower-cased, IP literals with their brackets
    (``"[::1]"``). ``port`` is ``None`` when absent or empty (``"host:"``);
    ``"host:000080"`` gives port 80. Returns ``None`` for a malformed value, an empty
    one, a port above 65535, or a value longer than 1024 characters.
    """
    if len(value) > _MAX_LENGTH:
        return None
    try:
        return _CACHE[value]
    except KeyError:
        pass
    result = _parse(value)
    if len(value) <= _CACHED_LENGTH:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[value] = result
    return result


def is_valid_host(value: str) -> bool:
    """Whether ``value`` is a well-formed ``Host`` header value (see :func:`parse_host`)."""
    return parse_host(value) is not None


def format_host(host: str, port: int | None) -> str:
    """The netloc ``host[:port]``; a bare IPv6 address (``"::1"``) gets its brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"

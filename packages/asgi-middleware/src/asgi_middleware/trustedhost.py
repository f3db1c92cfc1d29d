"""Refuse requests whose ``Host`` header names a host the app does not serve."""

from __future__ import annotations

from collections.abc import Sequence

from asgi_core.datastructures import find_header
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._hosts import normalized_host
from asgi_middleware._redirects import redirect_location
from asgi_middleware._responses import deny_websocket, send_plain

__all__ = ["ENFORCE_DOMAIN_WILDCARD", "TrustedHostMiddleware"]

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."

_ALLOW, _REDIRECT, _INVALID = range(3)
_CACHE_SIZE = 1024


class TrustedHostMiddleware(Wraps):
    """Answer 400 "Invalid host header" unless ``Host`` matches ``allowed_hosts``.

    Patterns are exact hosts (``"example.com"``), subdomain wildcards
    (``"*.example.com"``, which does not match ``example.com`` itself) or ``"*"``
    (anything: the default, which makes this middleware a no-op). Matching ignores
    the port (also one with leading zeros or out of range) and case; IPv6 and
    IPvFuture literals are written in brackets (``"[::1]"``). A missing or malformed
    ``Host`` (with a path, userinfo, spaces...) is refused. With ``www_redirect``,
    ``example.com`` redirects (307) to ``www.example.com`` when only the latter is
    allowed. WebSocket handshakes are
    refused the same way (or closed, when the server cannot send a response).
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        www_redirect: bool = True,
    ) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        self.allow_any = "*" in allowed_hosts
        self.www_redirect = www_redirect
        exact: set[str] = set()
        suffixes: list[str] = []
        for pattern in allowed_hosts:
            if pattern == "*":
                continue
            if "*" in pattern[1:] or (pattern.startswith("*") and not pattern.startswith("*.")):
                raise ValueError(ENFORCE_DOMAIN_WILDCARD)
            if pattern.startswith("*."):
                suffixes.append(pattern[1:].lower())
            elif pattern.startswith("[") and (literal := normalized_host(pattern)) is not None:
                exact.add(literal[0])  # "[::1]" is compared as a Host header gives it
            else:
                exact.add(pattern.lower().rstrip("."))
        self._exact = frozenset(exact)
        self._suffixes = tuple(suffixes)
        self._cache: dict[bytes, int] = {}

    def _allowed(self, host: str) -> bool:
        if host in self._exact:
            return True
        # a wildcard matches subdomains, never a name with an empty label (".example.com")
        return host.endswith(self._suffixes) and not host.startswith(".") and ".." not in host

    def _classify(self, header: bytes) -> int:
        try:
            return self._cache[header]
        except KeyError:
            pass
        parsed = _host_and_port(header.decode("latin-1"))
        if parsed is None:
            verdict = _INVALID
        elif self._allowed(parsed[0]):
            verdict = _ALLOW
        elif self.www_redirect and "www." + parsed[0] in self._exact:
            verdict = _REDIRECT
        else:
            verdict = _INVALID
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[header] = verdict
        return verdict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.allow_any or kind not in ("http", "websocket"):
            await self._call(scope, receive, send)
            return
        header = find_header(scope["headers"], b"host")
        verdict = _INVALID if header is None else self._classify(header)
        if verdict == _ALLOW:
            await self._call(scope, receive, send)
            return
        if verdict == _REDIRECT and header is not None:
            host, port = _host_and_port(header.decode("latin-1")) or ("", None)
            location = redirect_location(scope, scope.get("scheme", "http"), "www." + host, port)
            headers = [(b"location", location)]
            if kind == "http":
                await send_plain(send, 307, "", headers)
            else:
                await deny_websocket(scope, send, 307, "", headers)
            return
        if kind == "http":
            await send_plain(send, 400, "Invalid host header")
        else:
            await deny_websocket(scope, send, 400, "Invalid host header")


def _host_and_port(value: str) -> tuple[str, int | None] | None:
    """The normalized host of a ``Host`` value, with its port; a port that is not
    one (above 65535 or too long) does not matter for matching and is dropped."""
    parsed = normalized_host(value)
    if parsed is None:
        head, colon, port = value.rpartition(":")
        if colon and port.isdigit() and not head.endswith(":"):
            parsed = normalized_host(head)
    return parsed

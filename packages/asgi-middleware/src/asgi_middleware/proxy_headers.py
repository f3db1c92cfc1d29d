"""Take the client address, scheme and host from trusted proxies' headers.

Reads RFC 7239 ``Forwarded`` when present, else ``X-Forwarded-For``,
``X-Forwarded-Proto`` and ``X-Forwarded-Host``, and only when the immediate peer
(``scope["client"]``) is a trusted proxy: anybody else could forge them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from asgi_core.hosts import is_valid_host
from asgi_core.types import ASGIApp, Receive, Scope, Send

__all__ = ["ProxyHeadersMiddleware", "parse_forwarded"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {
    ("http", "http"): "http",
    ("http", "https"): "https",
    ("http", "ws"): "http",
    ("http", "wss"): "https",
    ("websocket", "http"): "ws",
    ("websocket", "https"): "wss",
    ("websocket", "ws"): "ws",
    ("websocket", "wss"): "wss",
}


def _split_quoted(value: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes (quoted-string aware)."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """Parse an RFC 7239 ``Forwarded`` value into its elements, nearest hop last.

    Each element maps lowercase parameter names (``for``, ``proto``, ``host``, ``by``)
    to unquoted values. Malformed pairs are skipped.
    """
    elements: list[dict[str, str]] = []
    for element in _split_quoted(value, ","):
        params: dict[str, str] = {}
        for pair in _split_quoted(element, ";"):
            name, sep, param = pair.partition("=")
            name = name.strip().lower()
            if sep and name and name not in params:
                params[name] = _unquote(param)
        elements.append(params)
    return elements


def _node(value: str) -> tuple[str, int] | None:
    """An RFC 7239 node (``192.0.2.1``, ``"[2001:db8::1]:80"``) as (ip, port).

    ``None`` for obfuscated identifiers (``_hidden``), ``unknown`` and junk.
    """
    port = 0
    if value.startswith("["):
        address, sep, rest = value[1:].partition("]")
        if not sep or (rest and not _is_port(rest)):
            return None
    else:
        address, rest = value, ""
        if value.count(":") == 1:
            address, _, port_text = value.partition(":")
            rest = ":" + port_text
            if not _is_port(rest):
                return None
    if rest:
        port = int(rest[1:])
    try:
        return str(ipaddress.ip_address(address)), port
    except ValueError:
        return None


def _is_port(text: str) -> bool:
    """Whether ``text`` is ``":"`` followed by a valid port number."""
    digits = text[1:]
    return (
        text[:1] == ":"
        and digits.isascii()
        and digits.isdigit()
        and len(digits) <= 5
        and int(digits) <= 65535
    )


class ProxyHeadersMiddleware:
    """Trust forwarding headers from ``trusted_hosts`` proxies only.

    ``trusted_hosts`` holds IP addresses and CIDR networks (``"10.0.0.0/8"``), or
    ``"*"`` to trust every peer; by default nothing is trusted and the middleware does
    nothing. When the peer is trusted, the client is the rightmost hop in the chain
    that is not itself a trusted proxy (or the leftmost when all are); the scheme
    (``http``, ``https``, ``ws``, ``wss`` only) and host (validated) are those that
    hop's proxy recorded. ``Forwarded`` wins over ``X-Forwarded-*``; unknown or
    obfuscated identifiers leave ``scope["client"]`` as it is.
    """

    def __init__(self, app: ASGIApp, trusted_hosts: str | Sequence[str] = ()) -> None:
        if isinstance(trusted_hosts, str):
            trusted_hosts = [h.strip() for h in trusted_hosts.split(",") if h.strip()]
        self.app = app
        self.trust_all = "*" in trusted_hosts
        networks: list[_Network] = []
        for entry in trusted_hosts:
            if entry == "*":
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"Invalid trusted host {entry!r}: use an IP address, a CIDR network or '*'"
                ) from None
        self.networks = tuple(networks)
        self._trust_cache: dict[str, bool] = {}

    def is_trusted(self, host: str) -> bool:
        """Whether ``host`` (an address string) is a trusted proxy."""
        if self.trust_all:
            return True
        try:
            return self._trust_cache[host]
        except KeyError:
            pass
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            trusted = False
        else:
            trusted = any(address in network for network in self.networks)
        if len(self._trust_cache) >= 1024:
            self._trust_cache.clear()
        self._trust_cache[host] = trusted
        return trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind in ("http", "websocket") and (self.trust_all or self.networks):
            client = scope.get("client")
            if client and self.is_trusted(str(client[0])):
                self._apply(scope, kind)
        await self.app(scope, receive, send)

    def _pick(self, hops: Sequence[str]) -> int:
        """Index of the client in ``hops`` (nearest last): the rightmost untrusted."""
        for index in range(len(hops) - 1, -1, -1):
            node = _node(hops[index])
            if node is None or not self.is_trusted(node[0]):
                return index
        return 0

    def _apply(self, scope: Scope, kind: str) -> None:
        forwarded: list[str] = []
        xff: list[str] = []
        xproto: list[str] = []
        xhost: list[str] = []
        for key, value in scope["headers"]:
            if key == b"forwarded":
                forwarded.append(value.decode("latin-1"))
            elif key == b"x-forwarded-for":
                xff.append(value.decode("latin-1"))
            elif key == b"x-forwarded-proto":
                xproto.append(value.decode("latin-1"))
            elif key == b"x-forwarded-host":
                xhost.append(value.decode("latin-1"))
        if forwarded:
            elements = parse_forwarded(",".join(forwarded))
            index = self._pick([element.get("for", "") for element in elements])
            chosen = elements[index]
            self._set(scope, kind, chosen.get("for"), chosen.get("proto"), chosen.get("host"))
            return
        hops = [hop.strip() for hop in ",".join(xff).split(",")] if xff else []
        protos = [p.strip() for p in ",".join(xproto).split(",")] if xproto else []
        hosts = [h.strip() for h in ",".join(xhost).split(",")] if xhost else []
        index = self._pick(hops) if hops else 0
        self._set(
            scope,
            kind,
            hops[index] if hops else None,
            _aligned(protos, hops, index),
            _aligned(hosts, hops, index),
        )

    def _set(
        self, scope: Scope, kind: str, node: str | None, proto: str | None, host: str | None
    ) -> None:
        if node is not None:
            parsed = _node(node)
            if parsed is not None:
                scope["client"] = parsed
        if proto is not None:
            scheme = _SCHEMES.get((kind, proto.lower()))
            if scheme is not None:
                scope["scheme"] = scheme
        if host is not None and is_valid_host(host):
            value = host.encode("latin-1")
            scope["headers"] = [
                *(item for item in scope["headers"] if item[0] != b"host"),
                (b"host", value),
            ]


def _aligned(values: list[str], hops: list[str], index: int) -> str | None:
    """The entry of ``values`` recorded with hop ``index``: the same position when
    the lists line up, else the nearest proxy's (rightmost) entry."""
    if not values:
        return None
    if len(values) == len(hops):
        return values[index]
    return values[-1]

"""Take the client address, scheme, host and port from trusted proxies' headers.

Reads RFC 7239 ``Forwarded`` when present, else ``X-Forwarded-For``,
``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``X-Forwarded-Port``, and only when
the immediate peer (``scope["client"]``) is a trusted proxy: anybody else could forge
them. A server that already applied ``X-Forwarded-For`` itself (uvicorn does by
default) is recognised, so the host and port are still taken (see the class).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from asgi_core.hosts import format_host, parse_host
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_middleware._chain import Wraps

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


class ProxyHeadersMiddleware(Wraps):
    """Trust forwarding headers from ``trusted_hosts`` proxies only.

    ``trusted_hosts`` holds IP addresses and CIDR networks (``"10.0.0.0/8"``), or
    ``"*"`` to trust every peer; by default nothing is trusted and the middleware does
    nothing. When the peer is trusted, the client is the rightmost hop in the chain
    that is not itself a trusted proxy (or the leftmost when all are); the scheme
    (``http``, ``https``, ``ws``, ``wss`` only), host (validated) and port are those
    that hop's proxy recorded. ``Forwarded`` wins over ``X-Forwarded-*``; unknown or
    obfuscated identifiers leave ``scope["client"]`` as it is.

    The server may have applied ``X-Forwarded-For`` already (uvicorn and gunicorn's
    uvicorn worker do, for peers in ``--forwarded-allow-ips``): ``scope["client"]`` is
    then the forwarded client, not the proxy. Such a client is recognised only by what
    a peer cannot fake: its port is 0 (no TCP connection comes from port 0, and servers
    write 0 when the header carries no port) and it is exactly the hop this
    middleware picks from the chain with its own ``trusted_hosts``. The server's own
    trust list made the decision then: keep it no wider than ``trusted_hosts``, or pass
    ``trust_server=False`` to take nothing from a request the server rewrote.
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted_hosts: str | Sequence[str] = (),
        *,
        trust_server: bool = True,
    ) -> None:
        if isinstance(trusted_hosts, str):
            trusted_hosts = [h.strip() for h in trusted_hosts.split(",") if h.strip()]
        self.app = app
        self.trust_all = "*" in trusted_hosts
        self.trust_server = trust_server
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
            if client:
                if self.is_trusted(str(client[0])):
                    self._apply(scope, kind, None)
                elif self.trust_server and client[1] == 0:
                    self._apply(scope, kind, str(client[0]))
        await self._call(scope, receive, send)

    def _pick(self, hops: Sequence[str]) -> int:
        """Index of the client in ``hops`` (nearest last): the rightmost untrusted."""
        for index in range(len(hops) - 1, -1, -1):
            node = _node(hops[index])
            if node is None or not self.is_trusted(node[0]):
                return index
        return 0

    def _apply(self, scope: Scope, kind: str, rewritten: str | None) -> None:
        """Apply the chain's values; ``rewritten`` is the client the server already
        took from the chain (``None`` when the peer itself is a trusted proxy)."""
        forwarded: list[str] = []
        xff: list[str] = []
        xproto: list[str] = []
        xhost: list[str] = []
        xport: list[str] = []
        for key, value in scope["headers"]:
            if key == b"forwarded":
                forwarded.append(value.decode("latin-1"))
            elif key == b"x-forwarded-for":
                xff.append(value.decode("latin-1"))
            elif key == b"x-forwarded-proto":
                xproto.append(value.decode("latin-1"))
            elif key == b"x-forwarded-host":
                xhost.append(value.decode("latin-1"))
            elif key == b"x-forwarded-port":
                xport.append(value.decode("latin-1"))
        if forwarded:
            elements = parse_forwarded(",".join(forwarded))
            index = self._pick([element.get("for", "") for element in elements])
            chosen = elements[index]
            if rewritten is None or _same_client(chosen.get("for", ""), rewritten):
                self._set(
                    scope, kind, chosen.get("for"), chosen.get("proto"), chosen.get("host"), None
                )
            return
        hops = _split(xff)
        index = self._pick(hops) if hops else 0
        if rewritten is not None and not (hops and _same_client(hops[index], rewritten)):
            return
        self._set(
            scope,
            kind,
            hops[index] if hops else None,
            _aligned(_split(xproto), hops, index),
            _aligned(_split(xhost), hops, index),
            _aligned(_split(xport), hops, index),
        )

    def _set(
        self,
        scope: Scope,
        kind: str,
        node: str | None,
        proto: str | None,
        host: str | None,
        port: str | None,
    ) -> None:
        if node is not None:
            parsed = _node(node)
            if parsed is not None:
                scope["client"] = parsed
        if proto is not None:
            scheme = _SCHEMES.get((kind, proto.lower()))
            if scheme is not None:
                scope["scheme"] = scheme
        authority = parse_host(host) if host is not None else None
        number = _port(port) if port is not None else None
        if authority is None and number is None:
            return
        if authority is None:
            current = next((v for k, v in scope["headers"] if k == b"host"), None)
            authority = parse_host(current.decode("latin-1")) if current is not None else None
            if authority is None:
                return
        name = authority[0]
        if number is None:
            number = authority[1]
        default = 443 if scope.get("scheme") in ("https", "wss") else 80
        value = format_host(name, None if number in (None, default) else number)
        scope["headers"] = [
            *(item for item in scope["headers"] if item[0] != b"host"),
            (b"host", value.encode("latin-1")),
        ]
        scope["server"] = (name.strip("[]"), default if number is None else number)


def _split(values: list[str]) -> list[str]:
    """The comma-separated items of repeated header lines, in order."""
    return [item.strip() for item in ",".join(values).split(",")] if values else []


def _same_client(hop: str, client: str) -> bool:
    """Whether ``hop`` names ``client`` with no port: what a server that applied the
    header itself leaves in ``scope["client"]`` (with port 0)."""
    node = _node(hop)
    if node is None or node[1] != 0:
        return False
    try:
        return node[0] == str(ipaddress.ip_address(client))
    except ValueError:
        return False


def _port(text: str) -> int | None:
    """A port number from ``X-Forwarded-Port`` (1 to 65535), else ``None``."""
    return int(text) if _is_port(":" + text) and int(text) > 0 else None


def _aligned(values: list[str], hops: list[str], index: int) -> str | None:
    """The entry of ``values`` recorded with hop ``index``: the same position when
    the lists line up, else the nearest proxy's (rightmost) entry."""
    if not values:
        return None
    if len(values) == len(hops):
        return values[index]
    return values[-1]

"""Helpers shared by the middleware (private).

The raw-ASGI ones work on the ``(bytes, bytes)`` header lists of ASGI messages
directly, so the middleware costs no parsing beyond what it needs.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from asgi_core.concurrency import run_in_threadpool
from asgi_core.types import Scope, Send

RawHeaders = list[tuple[bytes, bytes]]

_HOST = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::([0-9]{0,5}))?")
_HOST_CACHE: dict[str, tuple[str, int | None] | None] = {}
_HOST_CACHE_SIZE = 1024
# Bytes that may go into a Location header as they are: visible ASCII (0x21-0x7E).
_UNSAFE_TARGET = re.compile(rb"[^\x21-\x7e]")
_VISIBLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))


def find_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of the (lowercase) header ``name`` in a request's headers."""
    for key, value in headers:
        if key == name:
            return value
    return None


def _parse_host(value: str) -> tuple[str, int | None] | None:
    match = _HOST.fullmatch(value)
    if match is None or len(value) > 260:
        return None
    ipv6, name, port_text = match.groups()
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
        host = ipv6.lower()
    else:
        host = name.lower()
        if host.endswith("."):
            host = host[:-1]
        if not host or ".." in host or host.startswith("."):
            return None
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        return None
    return host, port


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split a ``Host`` value into (lowercase host, port or None); ``None`` if malformed.

    A valid value is a reg-name or IPv4 address, or an IPv6 address in brackets,
    with an optional port: anything carrying a path, userinfo, spaces or other
    junk is rejected. Results are cached (bounded) since hosts repeat.
    """
    try:
        return _HOST_CACHE[value]
    except KeyError:
        pass
    result = _parse_host(value)
    if len(_HOST_CACHE) >= _HOST_CACHE_SIZE:
        _HOST_CACHE.clear()
    _HOST_CACHE[value] = result
    return result


def netloc(host: str, port: int | None) -> str:
    """``host[:port]`` with IPv6 addresses bracketed."""
    text = f"[{host}]" if ":" in host else host
    return text if port is None else f"{text}:{port}"


def _visible(raw: bytes) -> str:
    """``raw`` as text, every byte outside 0x21-0x7E percent-encoded (existing escapes kept)."""
    if _UNSAFE_TARGET.search(raw):
        return quote(raw, safe=_VISIBLE_ASCII)
    return raw.decode("ascii")


def target(scope: Scope) -> str:
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


def add_vary(headers: RawHeaders, token: bytes) -> None:
    """Add ``token`` to the ``Vary`` header of response ``headers`` (in place)."""
    lowered = token.lower()
    for index, (key, value) in enumerate(headers):
        if key.lower() == b"vary":
            present = {item.strip().lower() for item in value.split(b",")}
            if lowered not in present and b"*" not in present:
                headers[index] = (key, value + b", " + token if value.strip() else token)
            return
    headers.append((b"vary", token))


def _plain_headers(body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    return [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("latin-1")),
        *headers,
    ]


async def send_plain(
    send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete ``text/plain`` response."""
    body = text.encode("utf-8")
    await send(
        {"type": "http.response.start", "status": status, "headers": _plain_headers(body, headers)}
    )
    await send({"type": "http.response.body", "body": body})


async def deny_websocket(
    scope: Scope,
    send: Send,
    status: int,
    text: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Refuse a WebSocket handshake: an HTTP response when the server supports the
    ``websocket.http.response`` extension, otherwise a close (code 1008)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = text.encode("utf-8")
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": _plain_headers(body, headers),
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": text})


def is_async_callable(obj: Any) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, partials, objects with
    an ``async def __call__``)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004
    )


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Await ``handler(*args)`` if it is async, else run it in the threadpool."""
    if is_async_callable(handler):
        return await handler(*args)
    return await run_in_threadpool(handler, *args)

"""The response classes: a status, headers and a body, sent as ASGI messages."""

from __future__ import annotations

import datetime
import email.utils
import functools
import http.cookies
import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote

import anyio

from asgi_core.background import BackgroundTask
from asgi_core.concurrency import run_in_threadpool
from asgi_core.datastructures import URL, MutableHeaders
from asgi_core.requests import ClientDisconnect
from asgi_core.types import Receive, Scope, Send

__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]

Content = str | bytes | memoryview
ContentStream = AsyncIterable[Content] | Iterable[Content]

_NO_BODY_STATUS = frozenset({204, 304})
_BYTES_LIKE = (bytes, memoryview)

# JSONResponse's encoder, built once (``json.dumps`` with options builds one per call).
# Encoding keeps no state between calls, so one instance serves every response.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

# RFC 9110 token characters: what a cookie name may contain.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Characters that must never reach a Set-Cookie header from an attribute value.
_UNSAFE_ATTRIBUTE = re.compile(r"[\x00-\x1f\x7f;]")
# Characters that would let a header name or value inject another header.
_HEADER_INJECTION = re.compile(r"[\r\n\0]")
_SAMESITE = frozenset({"strict", "lax", "none"})
_COOKIE_QUOTER: http.cookies.SimpleCookie = http.cookies.SimpleCookie()

# Characters left as they are in a Location header: RFC 3986 reserved and unreserved
# characters and "%" (so existing escapes survive); everything else is percent-encoded,
# so CR, LF, spaces and control characters can never reach the header.
_LOCATION_SAFE = ":/?#[]@!$&'()*+,;=%~"


class Response:
    """A complete response whose body is known up front.

    ``content`` is rendered by :meth:`render` (``str`` is encoded with :attr:`charset`).
    A ``text/*`` media type gets ``; charset=utf-8`` appended unless it names a charset.
    ``Content-Length`` is added unless given, or the status forbids a body (1xx, 204, 304).
    A HEAD request gets the same headers and no body. ``background`` runs once the
    response is over, also when the client went away first (``send`` raising
    ``OSError``, as ASGI 2.4 servers do, ends the response quietly).
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Turn ``content`` into the body bytes."""
        if type(content) is str:
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, _BYTES_LIKE):
            return content
        return str(content).encode(self.charset)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build :attr:`raw_headers` from ``headers``, adding length and content type."""
        if headers is None:
            raw_headers: list[tuple[bytes, bytes]] = []
            add_length = add_type = True
        else:
            raw_headers = []
            for key, value in headers.items():
                # One cheap test per header; the regex runs only on unusual text.
                text = key + value
                if not text.isprintable() and _HEADER_INJECTION.search(text):
                    raise ValueError(
                        f"Header {key!r}: {value!r} contains CR, LF or NUL, which is not allowed."
                    )
                raw_headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
            names = {name for name, _ in raw_headers}
            add_length = b"content-length" not in names
            add_type = b"content-type" not in names

        body = getattr(self, "body", None)
        status = self.status_code
        if body is not None and add_length and not (status < 200 or status in _NO_BODY_STATUS):
            raw_headers.append((b"content-length", b"%d" % len(body)))

        media_type = self.media_type
        if media_type is not None and add_type:
            raw_headers.append(_content_type_header(media_type, self.charset))

        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        """The response headers; changes write through to :attr:`raw_headers`."""
        if not hasattr(self, "_headers"):
            self._headers = MutableHeaders(raw=self.raw_headers)
        return self._headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime.datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header.

        Raises ``ValueError`` if the key is not an RFC 9110 token, if the value, path,
        domain or expires string holds a control character (CR, LF...) or ``;``, or if
        ``samesite`` is not one of strict, lax or none.
        """
        self.raw_headers.append(
            (
                b"set-cookie",
                _build_cookie(
                    key,
                    value,
                    max_age=max_age,
                    expires=expires,
                    path=path,
                    domain=domain,
                    secure=secure,
                    httponly=httponly,
                    samesite=samesite,
                    partitioned=partitioned,
                ),
            )
        )

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Expire the cookie ``key`` (same path and domain as when it was set)."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            start, body_type = "websocket.http.response.start", "websocket.http.response.body"
        else:
            start, body_type = "http.response.start", "http.response.body"
        body = b"" if scope.get("method") == "HEAD" else self.body
        try:
            await send({"type": start, "status": self.status_code, "headers": self.raw_headers})
            await send({"type": body_type, "body": body})
        except OSError:
            pass  # ASGI 2.4: the server raises OSError when the client is gone.
        if self.background is not None:
            await self.background()


class HTMLResponse(Response):
    """A ``text/html; charset=utf-8`` response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A ``text/plain; charset=utf-8`` response."""

    media_type = "text/plain"


class JSONResponse(Response):
    """Compact UTF-8 JSON. ``NaN`` and infinities raise ``ValueError``.

    Override :meth:`render` in a subclass to use another encoder.
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _JSON_ENCODER.encode(content).encode("utf-8")


class RedirectResponse(Response):
    """Redirect to ``url`` (307 by default, so the method and body are kept).

    The URL is percent-encoded where needed: no CR, LF or control character can reach
    the ``Location`` header.
    """

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            content=b"", status_code=status_code, headers=headers, background=background
        )
        location = quote(str(url), safe=_LOCATION_SAFE)
        self.raw_headers.append((b"location", location.encode("latin-1")))


class StreamingResponse(Response):
    """A response whose body comes from an iterator, sent chunk by chunk.

    ``content`` is an async or sync iterable of ``str``, ``bytes`` or ``memoryview``;
    sync iterables are advanced in a worker thread. When the client disconnects (an
    ``http.disconnect`` message, or ``send`` raising ``OSError`` as ASGI 2.4 servers do)
    streaming stops and the iterator is closed. The background task runs afterwards
    in both cases, so it can release resources the stream used.
    """

    body_iterator: AsyncIterable[Content]

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self._sync_iterator: Iterable[Content] | None = None
        if isinstance(content, AsyncIterable):
            self.body_iterator = content
        else:
            self._sync_iterator = content
            self.body_iterator = _iterate_in_thread(content)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.init_headers(headers)

    async def _start(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )

    async def stream_response(self, send: Send) -> None:
        """Send the start message, every chunk, then the final empty body."""
        await self._start(send)
        charset = self.charset
        async for chunk in self.body_iterator:
            if isinstance(chunk, str):
                chunk = chunk.encode(charset)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _close_iterator(self) -> None:
        """Close the body iterator (runs its ``finally`` blocks), even when cancelled."""
        with anyio.CancelScope(shield=True):
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            close = getattr(self._sync_iterator, "close", None)
            if close is not None:
                await run_in_threadpool(close)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope.get("method") == "HEAD":
                await self._start(send)
                await send({"type": "http.response.body", "body": b""})
            else:
                await run_until_disconnect(receive, lambda: self.stream_response(send))
        except (OSError, ClientDisconnect):
            pass
        finally:
            await self._close_iterator()
        if self.background is not None:
            await self.background()


async def run_until_disconnect(receive: Receive, body: Callable[[], Awaitable[None]]) -> None:
    """Await ``body()`` while watching ``receive`` for ``http.disconnect``.

    A disconnect cancels ``body()`` and returns quietly. An exception raised by
    ``body()`` or ``receive`` propagates as itself (not wrapped in an exception group).
    """
    error: Exception | None = None

    async def run(task: Callable[[], Awaitable[None]]) -> None:
        nonlocal error
        try:
            await task()
        except Exception as exc:  # noqa: BLE001 - re-raised once the group is done
            error = exc
        finally:
            task_group.cancel_scope.cancel()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(run, body)
        task_group.start_soon(run, watch)
    if error is not None:
        raise error


async def _iterate_in_thread(iterable: Iterable[Content]) -> AsyncIterator[Content]:
    iterator = iter(iterable)
    while True:
        chunk = await run_in_threadpool(next, iterator, _DONE)
        if chunk is _DONE:
            return
        yield chunk


_DONE: Any = object()


@functools.lru_cache(maxsize=256)
def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    """The encoded ``Content-Type`` header; ``text/*`` gets the charset if it names none."""
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=" + charset
    return (b"content-type", media_type.encode("latin-1"))


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


def _check_attribute(name: str, value: str) -> str:
    if _UNSAFE_ATTRIBUTE.search(value):
        raise ValueError(f"cookie {name} may not contain control characters or ';': {value!r}")
    return value


def _build_cookie(
    key: str,
    value: str,
    *,
    max_age: int | None,
    expires: datetime.datetime | str | int | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> bytes:
    """The ``Set-Cookie`` header value; attributes in the order Python's cookies use."""
    if not _TOKEN.fullmatch(key):
        raise ValueError(f"cookie name must be a token (letters, digits, !#$%&'*+-.^_`|~): {key!r}")
    _check_attribute("value", value)
    coded = _COOKIE_QUOTER.value_encode(value)[1]
    parts = [f"{key}={coded}"]
    if domain is not None:
        parts.append("Domain=" + _check_attribute("domain", domain))
    if expires is not None:
        if isinstance(expires, datetime.datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=datetime.timezone.utc)
            expires = _http_date(expires.timestamp())
        elif isinstance(expires, int):
            expires = _http_date(time.time() + expires)
        parts.append("expires=" + _check_attribute("expires", expires))
    if httponly:
        parts.append("HttpOnly")
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
    if partitioned:
        parts.append("Partitioned")
    if path is not None:
        parts.append("Path=" + _check_attribute("path", path))
    if samesite is not None:
        if samesite.lower() not in _SAMESITE:
            raise ValueError(f"samesite must be 'strict', 'lax' or 'none', not {samesite!r}")
        parts.append("SameSite=" + samesite)
    if secure:
        parts.append("Secure")
    header = "; ".join(parts)
    try:
        return header.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"cookie holds characters that cannot be sent in a header: {header!r}"
        ) from None

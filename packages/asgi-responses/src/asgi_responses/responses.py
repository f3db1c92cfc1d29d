"""The response classes: a status, headers and a body, sent as ASGI messages.

Response and its text, HTML, JSON and redirect flavours hold their body; StreamingResponse
sends it from an iterator; FileResponse sends a file, with conditional and Range requests
(the header grammar is in ``_ranges`` and ``_disposition``, pure functions).
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import http.cookies
import json
import os
import re
import secrets
import stat
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from mimetypes import guess_type
from typing import Any, Literal
from urllib.parse import quote

import anyio

from asgi_core.background import BackgroundTask
from asgi_core.concurrency import run_in_threadpool
from asgi_core.datastructures import URL, MutableHeaders
from asgi_core.requests import ClientDisconnect
from asgi_core.types import Message, Receive, Scope, Send
from asgi_responses._disposition import content_disposition
from asgi_responses._ranges import (
    MAX_RANGES,
    evaluate_preconditions,
    if_range_matches,
    parse_range,
)
from asgi_responses._threads import run_sync

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MalformedRangeHeader",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
]

# What a streamed body is made of (type aliases, as in Starlette).
Content = str | bytes | memoryview
SyncContentStream = Iterable[Content]
AsyncContentStream = AsyncIterable[Content]
ContentStream = AsyncContentStream | SyncContentStream

_NO_BODY_STATUS = frozenset({204, 304})

# JSONResponse's encoder, built once (``json.dumps`` with options builds one per call).
# Encoding keeps no state between calls, so one instance serves every response.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)


def _unchecked_json_encoder() -> Callable[[Any, int], Iterable[str]]:
    """The C encoder that ``_JSON_ENCODER.encode`` builds on every call (same options,
    same output), but built once and without cycle markers, so that it keeps no state
    between calls and one instance serves every thread and nested call. A cycle makes it
    recurse until ``RecursionError``; :func:`_json_text` then asks ``_JSON_ENCODER``,
    which raises the usual ``ValueError``. Where the C accelerator is missing, the
    method itself."""
    if _C_MAKE_ENCODER is None:  # pragma: no cover - CPython always has it
        return lambda content, _level: (_JSON_ENCODER.encode(content),)
    encoder = _JSON_ENCODER
    return _C_MAKE_ENCODER(  # type: ignore[no-any-return]
        None,  # no cycle markers (check_circular=False)
        encoder.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,
        encoder.key_separator,
        encoder.item_separator,
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )


# Building an encoder is a third of encoding a small object, and checking for cycles
# another tenth: the happy path pays neither.
_JSON_UNCHECKED = _unchecked_json_encoder()


def _json_text(content: Any) -> str:
    """``_JSON_ENCODER.encode(content)``, from the shared unchecked encoder."""
    try:
        return "".join(_JSON_UNCHECKED(content, 0))
    except RecursionError:
        # A cycle, or nesting too deep for the recursion limit: the checking encoder
        # says which (ValueError "Circular reference detected", or RecursionError).
        return _JSON_ENCODER.encode(content)


# RFC 9110 token characters: what a cookie name may contain.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Characters that must never reach a Set-Cookie header from an attribute value.
_UNSAFE_ATTRIBUTE = re.compile(r"[\x00-\x1f\x7f;]")
# Control characters (all but HTAB): CR and LF would inject another header, and no
# server sends a field value holding any of them (RFC 9110, section 5.5).
_HEADER_INJECTION = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SAMESITE = frozenset({"strict", "lax", "none"})
_COOKIE_QUOTER: http.cookies.SimpleCookie = http.cookies.SimpleCookie()

# Characters left as they are in a Location header: RFC 3986 reserved and unreserved
# characters and "%" (so existing escapes survive); everything else is percent-encoded,
# so CR, LF, spaces and control characters can never reach the header.
_LOCATION_SAFE = ":/?#[]@!$&'()*+,;=%~"

# FileResponse: the request headers that make a request conditional.
_CONDITIONAL = frozenset(
    {
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"range",
        b"if-range",
    }
)
# What a 304 keeps of the 200 headers (RFC 9110 section 15.4.5, plus Last-Modified).
_NOT_MODIFIED_KEEP = frozenset(
    {
        b"cache-control",
        b"content-location",
        b"date",
        b"etag",
        b"expires",
        b"last-modified",
        b"vary",
    }
)
_PATHSEND = "http.response.pathsend"
# FileResponse opens the file for reading (binary on Windows); os.open adds O_CLOEXEC.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_HTTP_START = "http.response.start"
_HTTP_BODY = "http.response.body"


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
        cls = type(self)
        body: bytes | memoryview
        if type(content) is str and cls.render is _RENDER:
            # Fast path: what render() does with a str, without the call.
            body = content.encode(self.charset)
        else:
            body = self.render(content)
        self.body = body
        if headers is None and cls.init_headers is _INIT_HEADERS:
            # Fast path: what init_headers(None) builds, without the call. Repeated in
            # Response and JSONResponse on purpose (a shared function costs ~430
            # instructions a response); tests/responses/test_fast_paths.py holds both
            # to init_headers().
            length = _LENGTH_HEADERS.get(len(body)) or _content_length_header(len(body))
            media: str | None = self.media_type
            if media is None:
                self.raw_headers = [length]
            else:
                charset = self.charset
                content_type = (
                    _UTF8_CONTENT_TYPES.get(media) if charset == "utf-8" else None
                ) or _content_type_header(media, charset)
                self.raw_headers = [length, content_type]
            if status_code < 200 or status_code in _NO_BODY_STATUS:
                del self.raw_headers[0]  # no Content-Length where no body may be
        else:
            self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """Turn ``content`` into the body bytes."""
        if type(content) is str:
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, memoryview):
            # One byte per element, so that len() (Content-Length) counts bytes.
            return content.cast("B") if content.c_contiguous else content.tobytes()
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
                        f"Header {key!r}: {value!r} contains a control character (such as "
                        "CR, LF or NUL), which cannot be sent."
                    )
                try:
                    raw_headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
                except UnicodeEncodeError:
                    raise ValueError(
                        f"Header {key!r}: {value!r} holds characters beyond latin-1, which "
                        "cannot be sent; encode it first (for example with urllib.parse.quote "
                        "or RFC 8187)."
                    ) from None
            names = {name for name, _ in raw_headers}
            add_length = b"content-length" not in names
            add_type = b"content-type" not in names

        body = getattr(self, "body", None)
        status = self.status_code
        if body is not None and add_length and not (status < 200 or status in _NO_BODY_STATUS):
            raw_headers.append(_content_length_header(len(body)))

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

        The value is quoted as ``http.cookies`` quotes it (see ``_cookie_value``),
        so any string is safe there. Raises ``ValueError``, naming the cookie, if the
        key is not an RFC 9110 token, if the path, domain or expires string holds a
        control character (CR, LF...), ``;`` or a character beyond latin-1, or if
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
        partitioned: bool = False,
    ) -> None:
        """Expire the cookie ``key`` (same path, domain and partition as when it was set)."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            start, body_type = "websocket.http.response.start", "websocket.http.response.body"
        else:
            start, body_type = _HTTP_START, _HTTP_BODY
        try:
            await send({"type": start, "status": self.status_code, "headers": self.raw_headers})
            if scope.get("method") == "HEAD":
                await send({"type": body_type, "body": b""})
            else:
                await send({"type": body_type, "body": self.body})
        except OSError:
            pass  # ASGI 2.4: the server raises OSError when the client is gone.
        if self.background is not None:
            await self.background()


_RENDER = Response.render
_INIT_HEADERS = Response.init_headers


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

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # Response.__init__'s work, inline: no extra call on the most common response.
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        cls = type(self)
        if cls.render is _JSON_RENDER:
            # Fast path: what render() does, without the call.
            try:
                text = "".join(_JSON_UNCHECKED(content, 0))
            except RecursionError:
                # A cycle, or nesting too deep: the checking encoder says which.
                text = _JSON_ENCODER.encode(content)
            body = text.encode("utf-8")
        else:
            body = self.render(content)
        self.body = body
        if headers is None and cls.init_headers is _INIT_HEADERS:
            # Fast path: what init_headers(None) builds, without the call. Repeated in
            # Response and JSONResponse on purpose (a shared function costs ~430
            # instructions a response); tests/responses/test_fast_paths.py holds both
            # to init_headers().
            length = _LENGTH_HEADERS.get(len(body)) or _content_length_header(len(body))
            media: str | None = self.media_type
            if media is None:
                self.raw_headers = [length]
            else:
                charset = self.charset
                content_type = (
                    _UTF8_CONTENT_TYPES.get(media) if charset == "utf-8" else None
                ) or _content_type_header(media, charset)
                self.raw_headers = [length, content_type]
            if status_code < 200 or status_code in _NO_BODY_STATUS:
                del self.raw_headers[0]  # no Content-Length where no body may be
        else:
            self.init_headers(headers)

    def render(self, content: Any) -> bytes:
        return _json_text(content).encode("utf-8")


_JSON_RENDER = JSONResponse.render


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
    sync iterables are advanced in a worker thread. The iterator is always closed when
    the response ends, however it ends (its ``finally`` blocks run).

    Client disconnects follow the server's ASGI spec version: below 2.4, an
    ``http.disconnect`` message (see :meth:`listen_for_disconnect`) stops streaming
    quietly and ``background`` runs; from 2.4 on, ``receive`` is not polled, and a
    ``send`` raising ``OSError`` raises :class:`~asgi_core.requests.ClientDisconnect`.
    On a WebSocket scope the response is sent as a denial response.
    """

    body_iterator: AsyncContentStream

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self._sync_iterator: SyncContentStream | None = None
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

    async def listen_for_disconnect(self, receive: Receive) -> None:
        """Return once ``receive`` delivers ``http.disconnect``."""
        while (await receive())["type"] != "http.disconnect":
            pass

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
        http = scope["type"] == "http"
        if not http:
            send = _websocket_denial(send)
        listens = _listens_for_disconnect(scope)
        try:
            if http and scope.get("method") == "HEAD":
                await self._start(send)
                await send({"type": "http.response.body", "body": b""})
            elif http and listens:
                await _run_until(
                    functools.partial(self.listen_for_disconnect, receive),
                    functools.partial(self.stream_response, send),
                )
            else:
                await self.stream_response(send)
        except OSError as exc:
            if not listens:
                raise ClientDisconnect() from exc
        except ClientDisconnect:
            if not listens:
                raise
        finally:
            await self._close_iterator()
        if self.background is not None:
            await self.background()


class MalformedRangeHeader(Exception):
    """A ``Range`` header that does not follow the grammar of RFC 9110.

    ``content`` is the message. :class:`FileResponse` never answers 400 for it: RFC 9110
    lets a server ignore such a header, and it does (the whole file, 200).
    """

    def __init__(self, content: str = "Malformed range header.") -> None:
        self.content = content


class RangeNotSatisfiable(Exception):
    """No range of a ``Range`` header overlaps a file of ``max_size`` bytes (416)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


class FileResponse(Response):
    """Send the file at ``path``.

    The media type is guessed from ``filename`` or ``path`` (``application/octet-stream``
    when unknown). With ``filename``, a ``Content-Disposition`` header (RFC 6266, UTF-8
    names in ``filename*``) of ``content_disposition_type`` is added. ``method``
    (keyword only) answers as if the request had that method (``"HEAD"``: no body).

    Headers: ``Content-Length``, ``Last-Modified``, ``Accept-Ranges: bytes`` and a
    strong ``ETag`` made of the modification time (ns) and size. For a 200 answer to
    GET or HEAD it honours If-Match, If-Unmodified-Since (412), If-None-Match and
    If-Modified-Since (304), in RFC 9110 order, then Range with If-Range: one range
    gives a 206, several a ``multipart/byteranges`` 206, none satisfiable a 416.
    A Range header that is malformed or has more than :attr:`max_ranges` parts is
    ignored (200).

    A missing path raises ``RuntimeError``, and so does a file found shorter than its
    size while it is sent. The file is read off the event loop in 64 KiB chunks, or
    handed to the server with the ``http.response.pathsend`` extension when the scope
    advertises it. Below ASGI spec 2.4, ``http.disconnect`` stops the transfer quietly;
    from 2.4 on, ``receive`` is not polled and an ``OSError`` from ``send`` propagates
    (the file is closed first). On a WebSocket scope the file is a denial response.
    """

    chunk_size = 64 * 1024
    max_ranges = MAX_RANGES

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: str = "attachment",
        *,
        method: str | None = None,
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        self.method = method
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        names = {name for name, _ in self.raw_headers}
        if b"accept-ranges" not in names:
            self.raw_headers.append((b"accept-ranges", b"bytes"))
        if filename is not None and b"content-disposition" not in names:
            value = content_disposition(content_disposition_type, filename)
            self.raw_headers.append((b"content-disposition", value.encode("latin-1")))
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """Add Content-Length, Last-Modified and ETag (unless already set)."""
        raw_headers = self.raw_headers
        for name, _ in raw_headers:
            if name in _STAT_NAMES:
                break
        else:
            # Fast path: none of the three is set (as below), and a file served again
            # unchanged gets its three headers from the cache.
            key = (stat_result.st_size, stat_result.st_mtime_ns, stat_result.st_mtime)
            headers = _STAT_HEADERS.get(key)
            if headers is None:
                headers = _stat_headers(*key)
            raw_headers.extend(headers)
            return
        names = {name for name, _ in raw_headers}
        size = stat_result.st_size
        if b"content-length" not in names:
            raw_headers.append((b"content-length", str(size).encode("latin-1")))
        if b"last-modified" not in names:
            last_modified = _http_date(stat_result.st_mtime)
            raw_headers.append((b"last-modified", last_modified.encode("latin-1")))
        if b"etag" not in names:
            etag = f'"{stat_result.st_mtime_ns:x}-{size:x}"'
            raw_headers.append((b"etag", etag.encode("latin-1")))

    def generate_multipart(
        self,
        ranges: Sequence[tuple[int, int]],
        boundary: str,
        max_size: int,
        content_type: str,
    ) -> tuple[int, Callable[[int, int], bytes]]:
        """The ``Content-Length`` of a ``multipart/byteranges`` body holding the
        half-open ``ranges`` of a ``max_size``-byte file, and the function giving the
        head of the part for ``(start, end)``.

        Each part is its head, the bytes, then CRLF; the body ends with
        ``--boundary--``.
        """

        def part_head(start: int, end: int) -> bytes:
            return (
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{max_size}\r\n\r\n"
            ).encode("latin-1")

        length = len(boundary) + 4  # the closing --boundary--
        for start, end in ranges:
            length += len(part_head(start, end)) + end - start + 2
        return length, part_head

    def _stat_and_read(self, read: bool) -> tuple[os.stat_result, bytes | None]:
        """Stat the file and, with ``read``, read it whole if it fits in one chunk:
        one worker-thread call does both."""
        try:
            stat_result = os.stat(self.path)
        except FileNotFoundError:
            raise RuntimeError(f"File at path {self.path} does not exist.") from None
        if not stat.S_ISREG(stat_result.st_mode):
            raise RuntimeError(f"File at path {self.path} is not a file.")
        body = None
        size = stat_result.st_size
        if read and size <= self.chunk_size:
            fd = os.open(self.path, _OPEN_FLAGS)
            try:
                body = self._read_exactly(fd, size)
            finally:
                os.close(fd)
        return stat_result, body

    def _read_exactly(self, fd: int, size: int) -> bytes:
        """``size`` bytes from ``fd``'s position (``RuntimeError`` if the file ends first)."""
        data = os.read(fd, size)
        if len(data) == size:
            return data
        chunks = [data]
        remaining = size - len(data)
        while remaining:
            chunk = os.read(fd, remaining)
            if not chunk:
                raise RuntimeError(f"File at path {self.path} is shorter than expected.")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = scope["type"] == "http"
        if not http:
            send = _websocket_denial(send)
        method = (self.method or scope.get("method") or "GET").upper()
        pathsend = http and _PATHSEND in scope.get("extensions", {})
        request: dict[bytes, str] = {}
        if self.status_code == 200 and method in ("GET", "HEAD"):
            for name, value in scope.get("headers", ()):
                name = name.lower()
                if name in _CONDITIONAL:
                    request[name] = value.decode("latin-1")
        stat_result = self.stat_result
        body = None
        if stat_result is None:
            # When the whole file goes in the body, one thread hop stats and reads it.
            read = not request and method != "HEAD" and not pathsend
            found, body = await run_sync(self._stat_and_read, read)
            stat_result = self.stat_result = found
            self.set_stat_headers(found)
        if body is not None:
            # Fast path: the whole file is in hand (what _send_whole sends with ``body``),
            # and whether OSError ends the response quietly is only looked up if it comes.
            try:
                await send(
                    {"type": _HTTP_START, "status": self.status_code, "headers": self.raw_headers}
                )
                await send({"type": _HTTP_BODY, "body": body})
            except OSError:
                if not _listens_for_disconnect(scope):
                    raise
            if self.background is not None:
                await self.background()
            return
        listens = _listens_for_disconnect(scope)
        if listens:
            send = _quiet(send)
        # ``receive`` is polled for http.disconnect below ASGI 2.4 only.
        watch = receive if http and listens else None
        try:
            if request:
                await self._answer_conditionally(
                    watch, send, method, pathsend, stat_result, request
                )
            else:
                await self._send_whole(watch, send, method, pathsend, stat_result.st_size)
        except ClientDisconnect:
            pass  # only raised by _quiet(send): the client left (below ASGI 2.4)
        if self.background is not None:
            await self.background()

    async def _answer_conditionally(
        self,
        receive: Receive | None,
        send: Send,
        method: str,
        pathsend: bool,
        stat_result: os.stat_result,
        request: dict[bytes, str],
    ) -> None:
        """Evaluate the preconditions and Range of ``request`` (conditional headers)."""
        size = stat_result.st_size
        response: dict[bytes, bytes] = dict(self.raw_headers)
        etag = response.get(b"etag", b"").decode("latin-1")
        mtime = int(stat_result.st_mtime)
        outcome = evaluate_preconditions(
            method,
            etag,
            mtime,
            if_match=request.get(b"if-match"),
            if_unmodified_since=request.get(b"if-unmodified-since"),
            if_none_match=request.get(b"if-none-match"),
            if_modified_since=request.get(b"if-modified-since"),
        )
        if outcome == 304:
            headers = [(k, v) for k, v in self.raw_headers if k in _NOT_MODIFIED_KEEP]
            await _send_empty(send, 304, headers)
            return
        if outcome == 412:
            await _send_empty(send, 412, [(b"content-length", b"0")])
            return
        range_header = request.get(b"range")
        if_range = request.get(b"if-range")
        ranges = None
        if range_header is not None and (
            if_range is None or if_range_matches(if_range, etag, mtime)
        ):
            ranges = parse_range(range_header, size, self.max_ranges)
        if ranges is None:
            await self._send_whole(receive, send, method, pathsend, size)
        elif not ranges:
            headers = [
                (b"content-range", f"bytes */{size}".encode("latin-1")),
                (b"content-length", b"0"),
            ]
            await _send_empty(send, 416, headers)
        elif len(ranges) == 1:
            await self._send_range(receive, send, method, ranges[0], size)
        else:
            await self._send_multipart(receive, send, method, ranges, size)

    def _headers_without(self, *names: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in self.raw_headers if k not in names]

    async def _send_whole(
        self,
        receive: Receive | None,
        send: Send,
        method: str,
        pathsend: bool,
        size: int,
    ) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        elif pathsend:
            path = os.path.abspath(self.path)  # noqa: ASYNC240 - no I/O beyond getcwd()
            await send({"type": _PATHSEND, "path": path})
        else:
            await self._send_file(receive, send, [(b"", 0, size)], b"")

    async def _send_range(
        self,
        receive: Receive | None,
        send: Send,
        method: str,
        part: tuple[int, int],
        size: int,
    ) -> None:
        start, stop = part
        headers = self._headers_without(b"content-length")
        headers.append((b"content-length", str(stop - start).encode("latin-1")))
        headers.append((b"content-range", f"bytes {start}-{stop - 1}/{size}".encode("latin-1")))
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            await self._send_file(receive, send, [(b"", start, stop)], b"")

    async def _send_multipart(
        self,
        receive: Receive | None,
        send: Send,
        method: str,
        ranges: list[tuple[int, int]],
        size: int,
    ) -> None:
        boundary = secrets.token_hex(16)
        content_type = dict(self.raw_headers).get(b"content-type", b"application/octet-stream")
        length, part_head = self.generate_multipart(
            ranges, boundary, size, content_type.decode("latin-1")
        )
        parts = [(part_head(start, stop), start, stop) for start, stop in ranges]
        headers = self._headers_without(b"content-length", b"content-type")
        headers.append((b"content-length", str(length).encode("latin-1")))
        headers.append(
            (b"content-type", f"multipart/byteranges; boundary={boundary}".encode("latin-1"))
        )
        await send({"type": "http.response.start", "status": 206, "headers": headers})
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        else:
            await self._send_file(receive, send, parts, f"--{boundary}--".encode("latin-1"))

    async def _send_file(
        self,
        receive: Receive | None,
        send: Send,
        parts: list[tuple[bytes, int, int]],
        trailer: bytes,
    ) -> None:
        """Send each part (a prefix, then bytes ``[start, stop)`` of the file), then
        ``trailer``. With ``receive``, stop quietly if the client disconnects."""
        multipart = bool(trailer)
        chunk_size = self.chunk_size
        if sum(stop - start for _, start, stop in parts) <= chunk_size:
            body = await run_sync(self._read_parts, parts, trailer)
            await send({"type": "http.response.body", "body": body})
            return

        async def stream() -> None:
            file = await anyio.open_file(self.path, "rb")
            try:
                for head, start, stop in parts:
                    if head:
                        await send(_more(head))
                    await file.seek(start)
                    remaining = stop - start
                    while remaining > 0:
                        chunk = await file.read(min(chunk_size, remaining))
                        if not chunk:
                            raise RuntimeError(
                                f"File at path {self.path} is shorter than expected."
                            )
                        remaining -= len(chunk)
                        await send(_more(chunk))
                    if multipart:
                        await send(_more(b"\r\n"))
            finally:
                with anyio.CancelScope(shield=True):  # close even when cancelled
                    await file.aclose()
            await send({"type": "http.response.body", "body": trailer})

        if receive is None:
            await stream()
        else:
            await _run_until(functools.partial(_wait_for_disconnect, receive), stream)

    def _read_parts(self, parts: list[tuple[bytes, int, int]], trailer: bytes) -> bytes:
        """A small body read whole, in a single worker-thread call."""
        out: list[bytes] = []
        fd = os.open(self.path, _OPEN_FLAGS)
        try:
            for head, start, stop in parts:
                out.append(head)
                os.lseek(fd, start, os.SEEK_SET)
                out.append(self._read_exactly(fd, stop - start))
                if trailer:
                    out.append(b"\r\n")
        finally:
            os.close(fd)
        out.append(trailer)
        return b"".join(out)


async def _run_until(
    watch: Callable[[], Awaitable[None]], body: Callable[[], Awaitable[None]]
) -> None:
    """Await ``body()`` until it ends or ``watch()`` returns (a client disconnect), which
    cancels ``body()`` and returns quietly. An exception raised by either propagates as
    itself (not wrapped in an exception group)."""
    error: Exception | None = None

    async def run(task: Callable[[], Awaitable[None]]) -> None:
        nonlocal error
        try:
            await task()
        except Exception as exc:  # noqa: BLE001 - re-raised once the group is done
            error = exc
        finally:
            task_group.cancel_scope.cancel()

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(run, body)
        task_group.start_soon(run, watch)
    if error is not None:
        raise error


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@functools.lru_cache(maxsize=32)
def _below_2_4(spec_version: str) -> bool:
    """Whether an ASGI spec version is older than 2.4 (an unreadable one counts as older)."""
    try:
        numbers = tuple(int(part) for part in spec_version.split(".")[:2])
    except ValueError:
        return True
    return numbers < (2, 4)


def _listens_for_disconnect(scope: Scope) -> bool:
    """Whether ``http.disconnect`` must be awaited: the server's ASGI spec is below 2.4.
    From 2.4 on, ``send`` raises ``OSError`` once the client is gone."""
    asgi = scope.get("asgi")
    version = asgi.get("spec_version") if asgi else None
    return version is None or _below_2_4(version)


def _websocket_denial(send: Send) -> Send:
    """``send`` for a response given to a WebSocket scope: the HTTP messages become the
    denial response messages of the ``websocket.http.response`` extension."""

    async def denial(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" or kind == "http.response.body":
            message = {**message, "type": "websocket." + kind}
        await send(message)

    return denial


def _quiet(send: Send) -> Send:
    """``send`` turning the ``OSError`` of a server whose client is gone into
    ``ClientDisconnect``, which the response catches to end quietly."""

    async def quiet(message: Message) -> None:
        try:
            await send(message)
        except OSError:
            raise ClientDisconnect() from None

    return quiet


async def _iterate_in_thread(iterable: Iterable[Content]) -> AsyncIterator[Content]:
    iterator = iter(iterable)
    while True:
        chunk = await run_in_threadpool(next, iterator, _DONE)
        if chunk is _DONE:
            return
        yield chunk


_DONE: Any = object()


@functools.lru_cache(maxsize=256)
def _build_content_type(media_type: str, charset: str) -> tuple[bytes, bytes]:
    """The encoded ``Content-Type`` header; ``text/*`` gets the charset if it names none."""
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=" + charset
    return (b"content-type", media_type.encode("latin-1"))


# The Content-Type headers built for the default charset, by media type (bounded): one
# dict lookup instead of the lru_cache call with two arguments.
_UTF8_CONTENT_TYPES: dict[str, tuple[bytes, bytes]] = {}


def _content_type_header(media_type: str, charset: str) -> tuple[bytes, bytes]:
    if charset == "utf-8":
        header = _UTF8_CONTENT_TYPES.get(media_type)
        if header is None:
            header = _build_content_type(media_type, charset)
            if len(_UTF8_CONTENT_TYPES) < 256:
                _UTF8_CONTENT_TYPES[media_type] = header
        return header
    return _build_content_type(media_type, charset)


# Content-Length headers of the small bodies seen so far, by length: formatting the
# number costs several times a dict lookup. Bounded: only lengths below 8 KiB.
_LENGTH_HEADERS: dict[int, tuple[bytes, bytes]] = {}


def _content_length_header(length: int) -> tuple[bytes, bytes]:
    header = _LENGTH_HEADERS.get(length)
    if header is None:
        header = (b"content-length", b"%d" % length)
        if length < 8192:
            _LENGTH_HEADERS[length] = header
    return header


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


_STAT_NAMES = frozenset({b"content-length", b"last-modified", b"etag"})
# FileResponse's Content-Length, Last-Modified and ETag headers by (size, mtime_ns,
# mtime), bounded: formatting the date alone costs about twenty dict lookups, and a
# file is mostly served again unchanged.
_STAT_HEADERS: dict[tuple[int, int, float], tuple[tuple[bytes, bytes], ...]] = {}


def _stat_headers(size: int, mtime_ns: int, mtime: float) -> tuple[tuple[bytes, bytes], ...]:
    headers = (
        (b"content-length", str(size).encode("latin-1")),
        (b"last-modified", _http_date(mtime).encode("latin-1")),
        (b"etag", f'"{mtime_ns:x}-{size:x}"'.encode("latin-1")),
    )
    if len(_STAT_HEADERS) >= 1024:
        _STAT_HEADERS.clear()
    _STAT_HEADERS[size, mtime_ns, mtime] = headers
    return headers


def _check_attribute(key: str, name: str, value: str) -> str:
    if _UNSAFE_ATTRIBUTE.search(value) or not _is_latin_1(value):
        raise ValueError(
            f"Set-Cookie header of cookie {key!r}: the {name} may not contain control "
            f"characters, ';' or characters beyond latin-1: {value!r}"
        )
    return value


def _is_latin_1(text: str) -> bool:
    return text.isascii() or max(text) <= "\xff"


def _escape_wide(quoted: str) -> str:
    """``quoted`` (a value ``http.cookies`` quoted) with each character beyond latin-1,
    which ``http.cookies`` leaves as it is, written as the octal escapes of its UTF-8
    bytes, as ``http.cookies`` writes the characters up to U+00FF."""
    return "".join(
        char
        if char <= "\xff"
        else "".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in quoted
    )


def _cookie_value(value: str) -> str:
    """``value`` as ``Set-Cookie`` carries it: unchanged when every character may stand
    in a cookie as it is, else in double quotes with ``"`` and ``\\`` backslash-escaped
    and every other character outside the cookie alphabet (``;``, CR, LF, space...)
    as a three-digit octal escape, exactly as ``http.cookies`` quotes it (what
    Starlette sends). Characters beyond latin-1, which ``http.cookies`` cannot send,
    become the octal escapes of their UTF-8 bytes. Never raises."""
    coded: str = _COOKIE_QUOTER.value_encode(value)[1]
    return coded if coded.isascii() else _escape_wide(coded)


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
    parts = [f"{key}={_cookie_value(value)}"]
    if domain is not None:
        parts.append("Domain=" + _check_attribute(key, "domain", domain))
    if expires is not None:
        if isinstance(expires, datetime.datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=datetime.timezone.utc)
            expires = _http_date(expires.timestamp())
        elif isinstance(expires, int):
            expires = _http_date(time.time() + expires)
        parts.append("expires=" + _check_attribute(key, "expires", expires))
    if httponly:
        parts.append("HttpOnly")
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
    if partitioned:
        parts.append("Partitioned")
    if path is not None:
        parts.append("Path=" + _check_attribute(key, "path", path))
    if samesite is not None:
        if samesite.lower() not in _SAMESITE:
            raise ValueError(f"samesite must be 'strict', 'lax' or 'none', not {samesite!r}")
        parts.append("SameSite=" + samesite)
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def _more(body: bytes) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": True}


async def _send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})

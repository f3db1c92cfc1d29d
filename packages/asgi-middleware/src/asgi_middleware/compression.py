"""Response compression negotiated from ``Accept-Encoding``: zstd, brotli and gzip.

brotli and zstd are optional (``pip install asgi-middleware[brotli]`` /
``asgi-middleware[zstd]``); a coding is offered only when its library imports.

Every coding follows the same rules as :class:`asgi_middleware.gzip.GZipMiddleware`:
the content types of ``exclude_content_types`` are never compressed, chunks of
``thread_minimum_size`` bytes or more are compressed in a worker thread, and
``Vary: Accept-Encoding`` goes on every response that could have been compressed,
whether or not this client accepted a coding.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Awaitable, Collection, Sequence
from typing import Any, Protocol, cast

import anyio
import anyio.lowlevel
import anyio.to_thread

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._chain import Wraps
from asgi_middleware._headers import RawHeaders, add_vary, content_length
from asgi_middleware._negotiation import select_encoding

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "DEFAULT_THREAD_MINIMUM_SIZE",
    "CompressionMiddleware",
]

DEFAULT_EXCLUDED_CONTENT_TYPES: tuple[str, ...] = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)
"""Content types never compressed unless the caller passes its own list: streams whose
chunks must not wait (server-sent events, gRPC) and media that is compressed already.
``"type/*"`` covers a whole top-level type; ``application/grpc`` covers its ``+proto``
and ``+json`` variants."""

DEFAULT_THREAD_MINIMUM_SIZE = 128 * 1024
"""Chunks at least this large are compressed in a worker thread (128 KiB)."""

_EXTRAS = {"br": ("brotli", "brotli"), "zstd": ("zstandard", "zstd")}
_KNOWN = ("zstd", "br", "gzip")
_NO_BODY_STATUSES = frozenset({204, 206, 304})
_NOT_OURS = (b"content-encoding", b"content-range")  # responses left as they are
_NEGOTIATION_CACHE_SIZE = 256
_EXCLUDED_CACHE_SIZE = 256
_THREADS = 40  # worker threads compressing at once, per event loop
_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar(
    "asgi_middleware.compression.limiter"
)


def _thread_limiter() -> anyio.CapacityLimiter:
    """The event loop's limiter for compression threads, apart from anyio's default one
    so that compressing never starves ``run_in_threadpool``."""
    try:
        return _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(_THREADS)
        _limiter.set(limiter)
        return limiter


def _normalize_content_types(content_types: Collection[str]) -> frozenset[str]:
    """Media types as compared: lower-cased, without parameters or surrounding space."""
    return frozenset(t.partition(";")[0].strip().lower() for t in content_types)


def _is_excluded(content_type: bytes, excluded: frozenset[str]) -> bool:
    """Whether a ``Content-Type`` value names a type of ``excluded`` (normalized):
    itself, its ``type/*`` or, for ``application/grpc+x``, ``application/grpc``."""
    media = content_type.partition(b";")[0].strip().lower().decode("latin-1")
    if media in excluded:
        return True
    major = media.partition("/")[0]
    if major + "/*" in excluded:
        return True
    return media.startswith("application/grpc+") and "application/grpc" in excluded


class _Stream(Protocol):
    """A per-response compressor: every chunk is flushed so it can be sent at once."""

    def chunk(self, data: bytes) -> bytes: ...

    def finish(self, data: bytes) -> bytes: ...


class _Codec(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def stream(self) -> _Stream: ...


class _GzipStream:
    __slots__ = ("obj",)

    def __init__(self, level: int) -> None:
        self.obj = zlib.compressobj(level, zlib.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        return self.obj.compress(data) + self.obj.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self.obj.compress(data) + self.obj.flush(zlib.Z_FINISH)


class _Gzip:
    def __init__(self, level: int) -> None:
        self.level = level

    def compress(self, data: bytes) -> bytes:
        return _GzipStream(self.level).finish(data)

    def stream(self) -> _GzipStream:
        return _GzipStream(self.level)


class _BrotliStream:
    def __init__(self, module: Any, quality: int) -> None:
        self._obj = module.Compressor(quality=quality)

    def chunk(self, data: bytes) -> bytes:
        return bytes(self._obj.process(data) + self._obj.flush())

    def finish(self, data: bytes) -> bytes:
        return bytes(self._obj.process(data) + self._obj.finish())


class _Brotli:
    def __init__(self, module: Any, quality: int) -> None:
        self._module = module
        self.quality = quality

    def compress(self, data: bytes) -> bytes:
        return bytes(self._module.compress(data, quality=self.quality))

    def stream(self) -> _Stream:
        return _BrotliStream(self._module, self.quality)


class _ZstdStream:
    def __init__(self, module: Any, level: int) -> None:
        self._module = module
        self._obj = module.ZstdCompressor(level=level).compressobj()

    def chunk(self, data: bytes) -> bytes:
        flush = self._module.COMPRESSOBJ_FLUSH_BLOCK
        return bytes(self._obj.compress(data) + self._obj.flush(flush))

    def finish(self, data: bytes) -> bytes:
        return bytes(self._obj.compress(data) + self._obj.flush())


class _Zstd:
    def __init__(self, module: Any, level: int) -> None:
        self._module = module
        self.level = level
        # Inline one-shot compression never awaits, so one context serves every
        # response; a worker thread uses a stream (a context of its own) instead.
        self._oneshot = module.ZstdCompressor(level=level)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._oneshot.compress(data))

    def stream(self) -> _Stream:
        # Streams interleave across awaits: each needs a context of its own.
        return _ZstdStream(self._module, self.level)


def _import(coding: str) -> Any:
    """The library behind an optional coding, or ``None`` when it is not installed."""
    module_name = _EXTRAS[coding][0]
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


def available_encodings() -> tuple[str, ...]:
    """The codings this installation can produce, in the default preference order."""
    return tuple(c for c in _KNOWN if c == "gzip" or _import(c) is not None)


class _Settings:
    """What every response of one middleware shares."""

    __slots__ = (
        "_excluded_cache",
        "_minimum_digits",
        "excluded",
        "minimum_size",
        "thread_minimum_size",
    )

    def __init__(
        self, minimum_size: int, thread_minimum_size: int, exclude_content_types: Collection[str]
    ) -> None:
        self.minimum_size = minimum_size
        self.thread_minimum_size = thread_minimum_size
        self.excluded = _normalize_content_types(exclude_content_types)
        self._excluded_cache: dict[bytes, bool] = {}
        # minimum_size as the digits of a Content-Length value: see eligible()
        self._minimum_digits = str(max(minimum_size, 0)).encode("ascii")

    def eligible(self, start: Message) -> bool:
        """Whether the response of ``start`` could be compressed (by its status and
        headers; its body decides later). One that declares a ``Content-Length`` under
        ``minimum_size`` could not: it is left as it is however its body is sent."""
        status = start["status"]
        if status in _NO_BODY_STATUSES or status < 200:
            return False
        for key, value in start.get("headers", ()):
            # The names of the right lengths only, compared as sent first (an ASGI
            # app sends them in lower case) and lower()ed only when that fails.
            size = len(key)
            if size == 12:
                if key == b"content-type" or key.lower() == b"content-type":
                    excluded = self._excluded_cache.get(value)
                    if excluded is None:
                        excluded = self._remember_excluded(value)
                    if excluded:
                        return False
            elif size == 14:
                if key == b"content-length" or key.lower() == b"content-length":
                    # A number under minimum_size has fewer digits, or as many and is
                    # smaller byte by byte (no int() parse: a third of this method).
                    # What is not such a number (leading zeros, junk) either counts
                    # as small (never compressed: always a safe choice) or leaves the
                    # decision to the body.
                    digits = self._minimum_digits
                    if len(value) < len(digits) or (len(value) == len(digits) and value < digits):
                        return False
            elif size in (13, 16) and key.lower() in _NOT_OURS:
                return False
        return True

    def _remember_excluded(self, content_type: bytes) -> bool:
        """:func:`_is_excluded` for a ``Content-Type`` value not in the cache yet, which
        eligible() reads first; remembered (an app sends few), the cache bounded."""
        cache = self._excluded_cache
        excluded = _is_excluded(content_type, self.excluded)
        if len(cache) >= _EXCLUDED_CACHE_SIZE:
            cache.clear()
        cache[content_type] = excluded
        return excluded


def _declared_length(start: Message) -> int | None:
    """The ``Content-Length`` that ``start`` declares, if it is one number."""
    for key, value in start.get("headers", ()):
        if key.lower() == b"content-length":
            return content_length(value.strip())
    return None


class _Done(tuple[()]):
    """An awaitable that is already done: awaiting it runs no Python code (its
    ``__await__`` is the empty tuple's C iterator), so it costs less than a coroutine."""

    __slots__ = ()
    __await__ = tuple.__iter__


_DONE = cast("Awaitable[None]", _Done())


_WAIT, _HELD, _PASS, _STREAM = range(4)


class _Responder:
    """One response: holds the start message until the first body decides whether to
    compress it with ``codec`` (``None``: never, only ``Vary`` is added).

    Machinery shared by the middleware of this package; the public faces are
    :class:`asgi_middleware.gzip.GZipResponder` and ``IdentityResponder``.
    """

    __slots__ = (
        "_codec",
        "_coding",
        "_head",
        "_mode",
        "_settings",
        "_start",
        "_stream",
        "app",
        "send",
    )

    def __init__(
        self,
        app: ASGIApp,
        settings: _Settings,
        codec: _Codec | None,
        coding: bytes,
        send: Send,
        head: bool,
    ) -> None:
        self.app = app
        self.send = send
        self._settings = settings
        self._codec = codec
        self._coding = coding
        self._head = head
        self._mode = _WAIT
        self._start: Message = {}
        self._stream: _Stream | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        self._head = scope.get("method") == "HEAD"
        await self.app(scope, receive, self.send_with_compression)

    def _vary_only(self) -> None:
        headers = list(self._start.get("headers", ()))
        add_vary(headers, b"Accept-Encoding")
        self._start["headers"] = headers

    def _encode_headers(self, length: int | None) -> None:
        headers: RawHeaders = []
        for key, value in self._start.get("headers", ()):
            name = key.lower()
            if name == b"content-length":
                continue
            if name == b"etag" and not value.startswith(b"W/"):
                value = b"W/" + value
            headers.append((key, value))
        headers.append((b"content-encoding", self._coding))
        if length is not None:
            headers.append((b"content-length", str(length).encode("latin-1")))
        add_vary(headers, b"Accept-Encoding")
        self._start["headers"] = headers

    def send_with_compression(self, message: Message) -> Awaitable[None]:
        """The ``send`` given to the app (a plain function handing on the awaitable of
        what it does: no coroutine per message)."""
        mode = self._mode
        if mode == _PASS:
            return self.send(message)
        if mode == _STREAM:
            return self._send_stream(message)
        if message["type"] == "http.response.start":
            if self._settings.eligible(message):
                self._start = message
                self._mode = _HELD
                return _DONE
            self._mode = _PASS
            return self.send(message)
        if mode == _HELD:
            return self._first_body(message)
        return self.send(message)  # early hints and other messages before the start

    async def _first_body(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            # pathsend, zerocopy, trailers: the body is not ours to compress
            self._mode = _PASS
            await self.send(self._start)
            await self.send(message)
            return
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        self._mode = _PASS
        if more_body:
            if self._codec is None:
                self._vary_only()
            else:
                self._mode = _STREAM
                self._encode_headers(None)
                message = {
                    "type": "http.response.body",
                    "body": await self.apply_compression(body, more_body=True),
                    "more_body": True,
                }
        elif self._head and not body:
            # eligible() passed on the starts that plainly declare a Content-Length
            # under minimum_size; one it could not read by its digits ("0100") is
            # parsed here, so that HEAD gets the headers GET would get.
            declared = _declared_length(self._start)
            if declared is None or declared >= self._settings.minimum_size:
                if self._codec is None:
                    self._vary_only()
                else:
                    self._encode_headers(None)
        elif len(body) >= self._settings.minimum_size:
            compressed = b"" if self._codec is None else await self._compress_whole(body)
            if compressed and len(compressed) < len(body):
                self._encode_headers(len(compressed))
                message["body"] = compressed
            else:
                self._vary_only()
        await self.send(self._start)
        await self.send(message)

    async def _compress_whole(self, body: bytes) -> bytes:
        codec = self._codec
        assert codec is not None
        if len(body) < self._settings.thread_minimum_size:
            return codec.compress(body)
        # A stream is a compression context of this response alone, safe in a thread.
        finish = codec.stream().finish
        return await anyio.to_thread.run_sync(finish, body, limiter=_thread_limiter())

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        """Compress one chunk of a streamed body, flushed so it can be sent at once;
        the last (``more_body=False``) ends the stream."""
        stream = self._stream
        if stream is None:
            assert self._codec is not None, "an identity responder compresses nothing"
            stream = self._stream = self._codec.stream()
        compress = stream.chunk if more_body else stream.finish
        if len(body) < self._settings.thread_minimum_size:
            return compress(body)
        return await anyio.to_thread.run_sync(compress, body, limiter=_thread_limiter())

    async def _send_stream(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            await self.send(message)  # trailers and the like
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if more and not body:
            data = b""
        else:
            data = await self.apply_compression(body, more_body=more)
        await self.send({"type": "http.response.body", "body": data, "more_body": more})


class _Compressor(Wraps):
    """Shared machinery: negotiate per request, then let a responder decide."""

    def __init__(
        self,
        app: ASGIApp,
        codecs: dict[str, _Codec],
        minimum_size: int,
        thread_minimum_size: int,
        exclude_content_types: Collection[str],
    ) -> None:
        if isinstance(exclude_content_types, str):
            raise TypeError("exclude_content_types is a collection of media types, not a str")
        self.app = app
        self.minimum_size = minimum_size
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = tuple(sorted(_normalize_content_types(exclude_content_types)))
        self._settings = _Settings(minimum_size, thread_minimum_size, exclude_content_types)
        self._codecs = codecs
        self._codings = {coding: coding.encode("latin-1") for coding in codecs}
        self._order = tuple(codecs)
        self._cache: dict[bytes, str | None] = {}

    def _negotiate(self, accept: bytes) -> str | None:
        try:
            return self._cache[accept]
        except KeyError:
            pass
        coding = select_encoding(accept.decode("latin-1"), self._order)
        if len(self._cache) >= _NEGOTIATION_CACHE_SIZE:
            self._cache.clear()
        self._cache[accept] = coding
        return coding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._call(scope, receive, send)
            return
        accept = None
        for key, value in scope["headers"]:  # find_header(), inlined
            if key == b"accept-encoding":
                accept = value
                break
        coding = (self._cache.get(accept) or self._negotiate(accept)) if accept else None
        head = scope.get("method") == "HEAD"
        settings = self._settings
        held: Message | None = None  # the response start, until its first body
        then: Send | None = None  # where every later message goes, once decided

        # The common responses are decided here, without a responder object: a start
        # that cannot be compressed is passed on, and so is, unchanged, a held start
        # whose body comes in one message smaller than minimum_size (what _Responder
        # does with them). Any other body goes to a _Responder, from the held start on.
        # A plain function handing on an awaitable: no coroutine per message.
        def send_with_compression(message: Message) -> Awaitable[None]:
            nonlocal held, then
            if then is not None:
                return then(message)
            if held is None:
                if message["type"] != "http.response.start":
                    return send(message)  # early hints and other messages before the start
                if not settings.eligible(message):
                    then = send
                    return send(message)
                held = message
                return _DONE
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                body = message.get("body", b"")
                if len(body) < settings.minimum_size and (body or not head):
                    then = send
                    return _send_both(send, held, message)
            if coding is None:
                responder = _Responder(self.app, settings, None, b"", send, head)
            else:
                responder = _Responder(
                    self.app, settings, self._codecs[coding], self._codings[coding], send, head
                )
            responder._start = held
            responder._mode = _HELD
            then = responder.send_with_compression
            return then(message)

        await self._call(scope, receive, send_with_compression)


async def _send_both(send: Send, start: Message, body: Message) -> None:
    await send(start)
    await send(body)


def _build_codec(coding: str, gzip_level: int, brotli_quality: int, zstd_level: int) -> _Codec:
    if coding == "gzip":
        return _Gzip(gzip_level)
    module = _import(coding)
    if module is None:
        library, extra = _EXTRAS[coding]
        raise ImportError(
            f"The {coding!r} content-coding needs the {library!r} library: "
            f"pip install 'asgi-middleware[{extra}]'"
        )
    if coding == "br":
        return _Brotli(module, brotli_quality)
    return _Zstd(module, zstd_level)


class CompressionMiddleware(_Compressor):
    """Compress responses with the best coding the client accepts.

    ``encodings`` is the server's preference order, used to break q-value ties;
    by default zstd, br and gzip, each only when its library is installed. Naming
    a coding whose library is missing raises ``ImportError`` saying which extra to
    install. Bodies smaller than ``minimum_size`` (sent in one message), the content
    types of ``exclude_content_types`` (by default
    :data:`DEFAULT_EXCLUDED_CONTENT_TYPES`; ``"type/*"`` patterns allowed; compared
    case-insensitively, parameters ignored), responses already carrying
    ``Content-Encoding`` and partial (206) responses are left alone. Streamed bodies
    are flushed chunk by chunk; chunks of ``thread_minimum_size`` bytes or more are
    compressed in a worker thread. ``Vary: Accept-Encoding`` is added to every
    response that could have been compressed, also for clients accepting no coding.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        encodings: Sequence[str] | None = None,
        gzip_level: int = 6,
        brotli_quality: int = 4,
        zstd_level: int = 3,
        thread_minimum_size: int = DEFAULT_THREAD_MINIMUM_SIZE,
        *,
        exclude_content_types: Collection[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        if encodings is None:
            encodings = available_encodings()
        codecs: dict[str, _Codec] = {}
        for coding in encodings:
            if coding not in _KNOWN:
                raise ValueError(f"Unknown content-coding {coding!r}: use zstd, br or gzip")
            codecs[coding] = _build_codec(coding, gzip_level, brotli_quality, zstd_level)
        super().__init__(app, codecs, minimum_size, thread_minimum_size, exclude_content_types)

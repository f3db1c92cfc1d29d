"""Response compression negotiated from ``Accept-Encoding``: zstd, brotli and gzip.

brotli and zstd are optional (``pip install asgi-middleware[brotli]`` /
``asgi-middleware[zstd]``); a coding is offered only when its library imports.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from asgi_core.types import ASGIApp, Message, Receive, Scope, Send
from asgi_middleware._negotiation import select_encoding
from asgi_middleware._utils import RawHeaders, add_vary, find_header

__all__ = ["DEFAULT_EXCLUDED_MEDIA_TYPES", "CompressionMiddleware"]

DEFAULT_EXCLUDED_MEDIA_TYPES = frozenset({"text/event-stream"})
"""Media types never compressed (compression would delay server-sent events)."""

_EXTRAS = {"br": ("brotli", "brotli"), "zstd": ("zstandard", "zstd")}
_KNOWN = ("zstd", "br", "gzip")
_NO_BODY_STATUSES = frozenset({204, 206, 304})
_NEGOTIATION_CACHE_SIZE = 256


class _Stream(Protocol):
    """A per-response compressor: every chunk is flushed so it can be sent at once."""

    def chunk(self, data: bytes) -> bytes: ...

    def finish(self, data: bytes) -> bytes: ...


class _Codec(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def stream(self) -> _Stream: ...


class _GzipStream:
    def __init__(self, level: int) -> None:
        self._obj = zlib.compressobj(level, zlib.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        return self._obj.compress(data) + self._obj.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._obj.compress(data) + self._obj.flush(zlib.Z_FINISH)


class _Gzip:
    def __init__(self, level: int) -> None:
        self.level = level

    def compress(self, data: bytes) -> bytes:
        return _GzipStream(self.level).finish(data)

    def stream(self) -> _Stream:
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
        # One-shot compression never awaits, so one context serves every response.
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


class _Compressor:
    """Shared machinery: negotiate per request, then compress the response body."""

    def __init__(
        self,
        app: ASGIApp,
        codecs: dict[str, _Codec],
        minimum_size: int,
        exclude_media_types: Collection[str],
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self._codecs = codecs
        self._order = tuple(codecs)
        self._exact = frozenset(DEFAULT_EXCLUDED_MEDIA_TYPES) | {
            t.lower() for t in exclude_media_types if not t.endswith("/*")
        }
        self._prefixes = tuple(t[:-1].lower() for t in exclude_media_types if t.endswith("/*"))
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

    def _excluded(self, content_type: bytes) -> bool:
        media = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
        return media in self._exact or media.startswith(self._prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = find_header(scope["headers"], b"accept-encoding")
        coding = self._negotiate(accept) if accept else None
        if coding is None:
            await self.app(scope, receive, send)
            return
        responder = _Responder(self, coding, send, scope.get("method") == "HEAD")
        await self.app(scope, receive, responder.send)


_WAIT, _HELD, _PASS, _STREAM = range(4)


class _Responder:
    """Per-response state: hold the start message until the first body decides."""

    __slots__ = ("_coding", "_head", "_mode", "_owner", "_send", "_start", "_stream")

    def __init__(self, owner: _Compressor, coding: str, send: Send, head: bool) -> None:
        self._owner = owner
        self._coding = coding
        self._send = send
        self._head = head
        self._mode = _WAIT
        self._start: Message = {}
        self._stream: _Stream | None = None

    def _eligible(self, message: Message) -> bool:
        if message["status"] in _NO_BODY_STATUSES or message["status"] < 200:
            return False
        for key, value in message.get("headers", ()):
            name = key.lower()
            if name in (b"content-encoding", b"content-range") or (
                name == b"content-type" and self._owner._excluded(value)
            ):
                return False
        return True

    def _encoded_headers(self, length: int | None) -> RawHeaders:
        headers: RawHeaders = []
        for key, value in self._start.get("headers", ()):
            name = key.lower()
            if name == b"content-length":
                continue
            if name == b"etag" and not value.startswith(b"W/"):
                value = b"W/" + value
            headers.append((key, value))
        headers.append((b"content-encoding", self._coding.encode("latin-1")))
        if length is not None:
            headers.append((b"content-length", str(length).encode("latin-1")))
        add_vary(headers, b"Accept-Encoding")
        return headers

    def _declared_length(self) -> int | None:
        for key, value in self._start.get("headers", ()):
            if key.lower() == b"content-length" and value.strip().isdigit():
                return int(value)
        return None

    async def send(self, message: Message) -> None:
        mode = self._mode
        if mode == _PASS:
            await self._send(message)
        elif mode == _STREAM:
            await self._send_stream(message)
        elif message["type"] == "http.response.start":
            if self._eligible(message):
                self._start = message
                self._mode = _HELD
            else:
                self._mode = _PASS
                await self._send(message)
        elif mode == _HELD:
            await self._first_body(message)
        else:
            await self._send(message)  # early hints and other messages before the start

    async def _first_body(self, message: Message) -> None:
        start = self._start
        if message["type"] != "http.response.body":
            # pathsend, zerocopy and the like: the body is not ours to compress
            self._mode = _PASS
            await self._send(start)
            await self._send(message)
            return
        body = message.get("body", b"")
        codec = self._owner._codecs[self._coding]
        if message.get("more_body", False):
            self._stream = codec.stream()
            self._mode = _STREAM
            start["headers"] = self._encoded_headers(None)
            await self._send(start)
            await self._send_stream(message)
            return
        self._mode = _PASS
        if self._head and not body:
            declared = self._declared_length()
            if declared is None or declared >= self._owner.minimum_size:
                start["headers"] = self._encoded_headers(None)
            await self._send(start)
            await self._send(message)
            return
        if len(body) >= self._owner.minimum_size:
            compressed = codec.compress(body)
            if len(compressed) < len(body):
                start["headers"] = self._encoded_headers(len(compressed))
                message["body"] = compressed
        await self._send(start)
        await self._send(message)

    async def _send_stream(self, message: Message) -> None:
        stream = self._stream
        if message["type"] != "http.response.body" or stream is None:
            await self._send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if more:
            data = stream.chunk(body) if body else b""
        else:
            data = stream.finish(body)
            self._stream = None
        await self._send({"type": "http.response.body", "body": data, "more_body": more})


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
    install. Bodies smaller than ``minimum_size`` (sent in one message), media types
    in ``exclude_media_types`` (``"image/*"`` patterns allowed; ``text/event-stream``
    always), responses already carrying ``Content-Encoding`` and partial (206)
    responses are left alone. Streamed bodies are flushed chunk by chunk.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        encodings: Sequence[str] | None = None,
        gzip_level: int = 6,
        brotli_quality: int = 4,
        zstd_level: int = 3,
        exclude_media_types: Collection[str] = (),
    ) -> None:
        if encodings is None:
            encodings = available_encodings()
        codecs: dict[str, _Codec] = {}
        for coding in encodings:
            if coding not in _KNOWN:
                raise ValueError(f"Unknown content-coding {coding!r}: use zstd, br or gzip")
            codecs[coding] = _build_codec(coding, gzip_level, brotli_quality, zstd_level)
        super().__init__(app, codecs, minimum_size, exclude_media_types)

"""gzip response compression (``Content-Encoding: gzip``)."""

from __future__ import annotations

import zlib
from collections.abc import Collection
from typing import NoReturn

from asgi_core.types import ASGIApp, Message
from asgi_middleware.compression import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    DEFAULT_THREAD_MINIMUM_SIZE,
    _Compressor,
    _Gzip,
    _GzipStream,
    _Responder,
    _Settings,
)

__all__ = [
    "DEFAULT_EXCLUDED_CONTENT_TYPES",
    "GZipMiddleware",
    "GZipResponder",
    "IdentityResponder",
    "unattached_send",
]


class GZipMiddleware(_Compressor):
    """gzip responses for clients that accept it.

    Bodies smaller than ``minimum_size`` (sent in one message, or declared so by the
    response's ``Content-Length``) stay as they are; so do
    responses that already have a ``Content-Encoding``, partial (206) responses and
    the content types of ``exclude_content_types`` (by default
    :data:`DEFAULT_EXCLUDED_CONTENT_TYPES`: event streams, gRPC, compressed media;
    ``"type/*"`` patterns allowed; matched case-insensitively, parameters ignored).
    Streamed bodies are flushed chunk by chunk (``Z_SYNC_FLUSH``), so every chunk
    reaches the client at once; a chunk of ``thread_minimum_size`` bytes or more is
    compressed in a worker thread, so the event loop never waits for it.
    ``Content-Length`` is set to the compressed size (dropped for streams) and a strong
    ``ETag`` becomes weak. ``Vary: Accept-Encoding`` is added (after any ``Vary``
    already there) to every response that could have been compressed, also when this
    client accepted no gzip, so a shared cache never serves gzip to a client that did
    not ask for it. For several codings (brotli, zstd) see
    :class:`asgi_middleware.compression.CompressionMiddleware`.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = DEFAULT_THREAD_MINIMUM_SIZE,
        *,
        exclude_content_types: Collection[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        super().__init__(
            app,
            {"gzip": _Gzip(compresslevel)},
            minimum_size,
            thread_minimum_size,
            exclude_content_types,
        )
        self.compresslevel = compresslevel


async def unattached_send(message: Message) -> NoReturn:
    """The ``send`` of a responder that was not called yet: using it is a bug."""
    raise RuntimeError("The responder has no send yet: call it as an ASGI app first.")


class IdentityResponder(_Responder):
    """Wrap ``app`` for one response that is never compressed: only
    ``Vary: Accept-Encoding`` is added where :class:`GZipMiddleware` would have
    compressed for a client accepting gzip."""

    __slots__ = ("minimum_size",)
    content_encoding: str | None = None

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        *,
        exclude_content_types: Collection[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        settings = _Settings(minimum_size, DEFAULT_THREAD_MINIMUM_SIZE, exclude_content_types)
        super().__init__(app, settings, None, b"", unattached_send, False)
        self.minimum_size = minimum_size


class GZipResponder(_Responder):
    """Wrap ``app`` for one response, gzipped as :class:`GZipMiddleware` does for a
    client that accepts gzip (the caller has negotiated). ``compressor`` is the
    ``zlib`` object of its streamed body, created at its first chunk."""

    __slots__ = ("compresslevel", "minimum_size", "thread_minimum_size")
    content_encoding: str | None = "gzip"

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int,
        compresslevel: int = 9,
        *,
        thread_minimum_size: int = DEFAULT_THREAD_MINIMUM_SIZE,
        exclude_content_types: Collection[str] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        settings = _Settings(minimum_size, thread_minimum_size, exclude_content_types)
        super().__init__(app, settings, _Gzip(compresslevel), b"gzip", unattached_send, False)
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size

    @property
    def compressor(self) -> zlib._Compress:
        """The ``zlib`` object compressing this response's stream."""
        stream = self._stream
        if stream is None:
            stream = self._stream = _GzipStream(self.compresslevel)
        assert isinstance(stream, _GzipStream)
        return stream.obj

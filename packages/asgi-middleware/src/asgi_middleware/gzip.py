"""gzip response compression (``Content-Encoding: gzip``)."""

from __future__ import annotations

from collections.abc import Collection

from asgi_core.types import ASGIApp
from asgi_middleware.compression import _Compressor, _Gzip

__all__ = ["GZipMiddleware"]


class GZipMiddleware(_Compressor):
    """gzip responses for clients that accept it.

    Bodies sent in one message smaller than ``minimum_size`` stay as they are; so do
    responses that already have a ``Content-Encoding``, partial (206) responses,
    ``text/event-stream`` and the media types in ``exclude_media_types``
    (``"image/*"`` patterns allowed). Streamed bodies are flushed chunk by chunk
    (``Z_SYNC_FLUSH``), so every chunk reaches the client at once. ``Content-Length``
    is set to the compressed size (dropped for streams), ``Vary: Accept-Encoding``
    is added and a strong ``ETag`` becomes weak. For several codings (brotli, zstd)
    see :class:`asgi_middleware.compression.CompressionMiddleware`.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 9,
        exclude_media_types: Collection[str] = (),
    ) -> None:
        super().__init__(app, {"gzip": _Gzip(compresslevel)}, minimum_size, exclude_media_types)
        self.compresslevel = compresslevel

"""Form body parsers: :class:`FormParser` (urlencoded) and :class:`MultiPartParser`.

Both consume an async iterator of body chunks and return a
:class:`~asgi_core.datastructures.FormData`. Urlencoded bodies are parsed by a pure
function of this package; multipart bodies need ``python-multipart``
(``pip install asgi-core[forms]``), imported only when a multipart form is parsed.

Every limit is enforced while the body streams in, so a hostile form costs bounded
memory: number of fields and files, size of a field part, number and size of a part's
headers, size of the multipart preamble and epilogue (64 KiB each), total body size.
Violations raise :class:`MultiPartException` with a ``status_code`` of 400 (malformed,
too many fields or files, preamble or epilogue too large) or 413 (too large). Inside an
application (a scope with an ``"app"``) ``Request.form()`` turns it into an
``HTTPException`` with that status; outside one it lets it through, as Starlette does.
"""

from __future__ import annotations

import codecs
import logging
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, BinaryIO, cast

import anyio

from asgi_core._parsers import (
    FieldTooLarge,
    ParseError,
    _parse_urlencoded_bytes,
    parse_content_type,
    parse_urlencoded_fast,
)
from asgi_core.datastructures import FormData, Headers, UploadFile, find_header
from asgi_core.exceptions import ASGIDeprecationWarning

if sys.version_info >= (3, 13):  # pragma: no cover - one branch per Python version
    from warnings import deprecated
else:  # pragma: no cover
    from typing_extensions import deprecated

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartParser

__all__ = [
    "FormMessage",
    "FormParser",
    "MultiPartException",
    "MultiPartParser",
    "MultipartPart",
]

_MAX_BOUNDARY_LENGTH = 70  # RFC 2046, section 5.1.1
# Browsers send two headers per part; these bound what any python-multipart version
# would accept (recent ones stop at 8 headers of 4 KiB each).
_MAX_PART_HEADERS = 6
_MAX_PART_HEADER_BYTES = 8 * 1024
# RFC 2046 lets a multipart body carry a preamble (before the first boundary) and an
# epilogue (after the closing one), both to be ignored; these bound what is skipped.
_MAX_PREAMBLE_SIZE = 64 * 1024
_MAX_EPILOGUE_SIZE = 64 * 1024


class MultiPartException(Exception):
    """A form body that is malformed or over a limit.

    ``message`` says what was wrong; ``status_code`` is the HTTP status to answer
    with: 400, or 413 when a size limit was passed.
    """

    status_code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _too_large(message: str) -> MultiPartException:
    exc = MultiPartException(message)
    exc.status_code = 413
    return exc


@deprecated(
    "FormMessage is deprecated and will be removed in a future version.",
    category=ASGIDeprecationWarning,
    stacklevel=2,
)
class FormMessage(Enum):
    """The events of a urlencoded form parse. Deprecated, as in Starlette: nothing
    here uses it; building one (``FormMessage(1)``) warns."""

    FIELD_START = 1
    FIELD_NAME = 2
    FIELD_DATA = 3
    FIELD_END = 4
    END = 5


@dataclass
class MultipartPart:
    """The multipart part being parsed: its raw ``Content-Disposition``, field name,
    data (a text field's bytes), file (an upload's) and headers."""

    content_disposition: bytes | None = None
    field_name: str = ""
    data: bytearray = field(default_factory=bytearray)
    file: UploadFile | None = None
    item_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _charset(name: str | None, default: str) -> str:
    """``name`` if it names a known codec, else ``default``."""
    if name:
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return default


def _content_type_params(headers: Headers, params: Mapping[str, str] | None) -> Mapping[str, str]:
    """``params`` if the caller parsed the Content-Type already, else parse it."""
    if params is None:
        params = parse_content_type(headers.get("content-type", ""))[1]
    return params


def _find_across(tail: bytes, chunk: bytes, needle: bytes) -> int:
    """The index of the first ``needle`` in ``tail + chunk``, or -1, without copying
    ``chunk`` (``tail`` holds the last bytes before ``chunk``)."""
    index = (tail + chunk[: len(needle) - 1]).find(needle)
    if index < 0:
        index = chunk.find(needle)
        if index >= 0:
            index += len(tail)
    return index


class FormParser:
    """Parse an ``application/x-www-form-urlencoded`` body.

    At most ``max_size`` bytes are buffered (413 past it), ``max_fields`` pairs
    accepted (400 past it), and each field name and value may hold ``max_part_size``
    bytes as sent (413 past it). The ``charset`` Content-Type parameter is honoured;
    undecodable bytes become U+FFFD. ``content_type_params`` are the Content-Type's
    parameters when the caller has parsed them already (``Request.form()`` does);
    by default they are read from ``headers``.
    """

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterator[bytes],
        *,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
        max_size: int = 2_621_440,
        content_type_params: Mapping[str, str] | None = None,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self.max_size = max_size
        self._params = content_type_params

    async def parse(self) -> FormData:
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.stream:
            size += len(chunk)
            if size > self.max_size:
                raise _too_large(f"Form body is too large (limit: {self.max_size} bytes).")
            chunks.append(chunk)
        return _urlencoded_form(
            b"".join(chunks),
            _content_type_params(self.headers, self._params),
            self.max_fields,
            self.max_part_size,
            self.max_size,
        )


# FormData.__new__ (object's), looked up once: FormData.__new__(FormData) finds it
# through the class's bases on every call (measured: ~230 instructions more).
_new_object = object.__new__


def _urlencoded_form(
    body: bytes,
    params: Mapping[str, str],
    max_fields: int | float,
    max_part_size: int,
    max_size: int,
) -> FormData:
    """The form in a whole urlencoded ``body`` (``params``: its Content-Type's), with
    :class:`FormParser`'s limits and errors. ``Request.form()`` calls it directly on
    the body it read, without a chunk stream."""
    if len(body) > max_size:
        raise _too_large(f"Form body is too large (limit: {max_size} bytes).")
    charset = _charset(params["charset"], "utf-8") if "charset" in params else "utf-8"
    if charset == "utf-8":
        parsed = parse_urlencoded_fast(body, max_fields, max_part_size)
        if parsed is not None:
            # FormData(items), without the constructor's argument handling (a third of
            # a small form's cost): the same object, over the parser's list and dict.
            form: FormData = _new_object(FormData)
            form._list, form._dict = parsed  # type: ignore[assignment]
            return form
    return _general_urlencoded_form(body, charset, max_fields, max_part_size)


def _general_urlencoded_form(
    body: bytes, charset: str, max_fields: int | float, max_part_size: int
) -> FormData:
    """:func:`_urlencoded_form` by the general parser, for the bodies that
    ``parse_urlencoded_fast`` leaves to it (its size already checked)."""
    try:
        items = _parse_urlencoded_bytes(body, max_fields, charset, max_part_size)
    except FieldTooLarge as exc:
        raise _too_large(str(exc)) from None
    except ParseError as exc:
        raise MultiPartException(str(exc)) from None
    form: FormData = _new_object(FormData)
    form._list = items  # type: ignore[assignment]
    form._dict = dict(items)
    return form


class _ClientErrorLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """python-multipart logs malformed input as warnings on its own logger. That input
    is the client's error, answered with a 400, so it is logged here at DEBUG instead
    of filling the server's log with one warning per hostile request."""

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        self.logger.log(logging.DEBUG, msg, *args, **kwargs)


_PARSER_LOG = _ClientErrorLog(logging.getLogger(__name__), {})


_multipart: tuple[type[MultipartParser], type[Exception]] | None = None


def _load_multipart() -> tuple[type[MultipartParser], type[Exception]]:
    """python-multipart's parser class and error base class, imported on first use
    (and kept: an import statement per request costs more than the lookup)."""
    global _multipart
    if _multipart is None:
        try:
            from python_multipart.exceptions import FormParserError
            from python_multipart.multipart import MultipartParser
        except ImportError:
            raise RuntimeError(
                "Install asgi-core[forms] to parse forms: multipart/form-data needs the "
                'python-multipart package (pip install "asgi-core[forms]").'
            ) from None
        _multipart = MultipartParser, FormParserError
    return _multipart


# A part's Content-Disposition -> its (name, filename) parameters. A form's field parts
# send the same few values on every request; only short values are kept, at most 256.
_DISPOSITIONS: dict[tuple[bytes, str], tuple[str | None, str | None]] = {}
_DISPOSITION_CACHE_SIZE = 256
_DISPOSITION_CACHED_LENGTH = 256


def _disposition_names(disposition: bytes, charset: str) -> tuple[str | None, str | None]:
    """The ``name`` and ``filename`` parameters of a ``Content-Disposition`` value."""
    key = (disposition, charset)
    names = _DISPOSITIONS.get(key)
    if names is None:
        _, options = parse_content_type(disposition.decode(charset, "replace"))
        names = options.get("name"), options.get("filename")
        if len(disposition) <= _DISPOSITION_CACHED_LENGTH:
            if len(_DISPOSITIONS) >= _DISPOSITION_CACHE_SIZE:
                _DISPOSITIONS.clear()
            _DISPOSITIONS[key] = names
    return names


class MultiPartParser:
    """Parse a ``multipart/form-data`` body, streaming.

    Parts with a ``filename`` become :class:`UploadFile` objects backed by a
    ``SpooledTemporaryFile(max_size=spool_max_size)`` (on disk past that size);
    other parts become strings, decoded with the part's charset or the request's
    (UTF-8 by default), bad bytes replaced. ``filename*``/``name*`` parameters are
    ignored (RFC 7578 forbids them), so they can never override ``filename``/``name``.
    A Windows path sent as a file name (``C:\\dir\\a.txt``) is cut to the file's
    name. An empty body is an empty form; a body without its closing boundary is
    malformed (400), so a truncated upload is never taken as complete.

    Limits: ``max_files`` file parts and ``max_fields`` other parts (400 past
    them), ``max_part_size`` bytes per non-file part, ``max_buffered_size`` bytes
    for all non-file parts together (what the form holds in memory),
    ``max_upload_disk`` bytes of uploads written to disk (``None``: no cap) and
    ``max_body_size`` bytes in all (413 past them), and at most 6 headers and
    8 KiB of headers per part. The preamble (bytes before the first boundary) and
    the epilogue (bytes after the closing boundary), which RFC 2046 says to ignore,
    may hold 64 KiB each (400 past that). The boundary must be 1 to 70 characters
    (RFC 2046). ``content_type_params`` are the Content-Type's parameters when the
    caller has parsed them already; by default they are read from ``headers``.

    Uploads stay in memory while each is at most ``spool_max_size`` bytes and all of
    them together at most ``max_upload_memory``; the write that would pass either
    moves that upload to a temporary file, in a worker thread.
    """

    spool_max_size: int = 1024 * 1024
    """The default size past which an upload's spooled file moves to disk."""
    max_part_size: int = 1024 * 1024
    """The default size limit of one non-file part."""

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterator[bytes],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
        spool_max_size: int = 1024 * 1024,
        max_body_size: int | None = None,
        max_buffered_size: int = 2_621_440,
        content_type_params: Mapping[str, str] | None = None,
        max_upload_memory: int = 4_194_304,
        max_upload_disk: int | None = 1_073_741_824,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_upload_memory = max_upload_memory
        self.max_upload_disk = max_upload_disk
        self._upload_memory = 0  # bytes of uploads held in memory
        self._upload_disk = 0  # bytes of uploads written to disk
        self._rolled: set[int] = set()  # id() of the uploads moved to disk
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self.spool_max_size = spool_max_size
        self.max_body_size = max_body_size
        self.max_buffered_size = max_buffered_size
        self._params = content_type_params
        self._buffered = 0
        self._charset = "utf-8"
        self._items: list[tuple[str, UploadFile | str]] = []
        self._pending: list[tuple[UploadFile, bytes]] = []
        self._files = 0
        self._fields = 0
        self._ended = False
        self.on_part_begin()

    # --- python-multipart callbacks (synchronous; file writes are queued) ---

    def on_part_begin(self) -> None:
        self._part = MultipartPart()
        self._header_field = b""
        self._header_value = b""
        self._header_bytes = 0
        self._field_charset = self._charset

    def _count_header_bytes(self, count: int) -> None:
        self._header_bytes += count
        if self._header_bytes > _MAX_PART_HEADER_BYTES:
            raise MultiPartException(
                f"The headers of a multipart part are too large "
                f"(limit: {_MAX_PART_HEADER_BYTES} bytes)."
            )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        headers = self._part.item_headers
        if len(headers) >= _MAX_PART_HEADERS:
            raise MultiPartException(
                f"A multipart part has too many headers (limit: {_MAX_PART_HEADERS})."
            )
        name = self._header_field.strip().lower()
        if name == b"content-disposition" and self._part.content_disposition is None:
            self._part.content_disposition = self._header_value
        headers.append((name, self._header_value))
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        part = self._part
        disposition = part.content_disposition
        if disposition is None:
            raise MultiPartException("A multipart part has no Content-Disposition header.")
        name, filename = _disposition_names(disposition, self._charset)
        if name is None:
            raise MultiPartException(
                'The Content-Disposition header of a multipart part must have a "name".'
            )
        part.field_name = name
        if filename is None:
            self._fields += 1
            if self._fields > self.max_fields:
                raise MultiPartException(
                    f"Too many fields. Maximum number of fields is {self.max_fields}."
                )
            content_type = find_header(part.item_headers, b"content-type")
            if content_type is not None:
                _, type_params = parse_content_type(content_type.decode("latin-1"))
                self._field_charset = _charset(type_params.get("charset"), self._charset)
            return
        if filename[1:3] == ":\\" or filename[:2] == "\\\\":
            # Old browsers send the whole Windows path; keep only the file's name.
            filename = filename.rpartition("\\")[2]
        self._files += 1
        if self._files > self.max_files:
            raise MultiPartException(
                f"Too many files. Maximum number of files is {self.max_files}."
            )
        spooled = SpooledTemporaryFile(max_size=self.spool_max_size)  # noqa: SIM115 - FormData.close closes it
        upload = UploadFile(
            cast(BinaryIO, spooled),
            size=0,
            filename=filename,
            headers=Headers(raw=part.item_headers),
        )
        part.file = upload
        self._items.append((name, upload))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.file is not None:
            self._pending.append((part.file, data[start:end]))
            return
        if len(part.data) + (end - start) > self.max_part_size:
            raise _too_large(f"A form field is too large (limit: {self.max_part_size} bytes).")
        self._buffered += end - start
        if self._buffered > self.max_buffered_size:
            raise _too_large(
                f"The form fields are too large together (limit: {self.max_buffered_size} bytes)."
            )
        part.data += data[start:end]

    def on_part_end(self) -> None:
        part = self._part
        if part.file is None:
            value = part.data.decode(self._field_charset, "replace")
            self._items.append((part.field_name, value))

    def on_end(self) -> None:
        self._ended = True

    # --- driving the parser ---

    def _boundary(self) -> bytes:
        params = _content_type_params(self.headers, self._params)
        self._charset = _charset(params.get("charset"), "utf-8")
        boundary = params.get("boundary")
        if not boundary:
            raise MultiPartException("The multipart/form-data Content-Type has no boundary.")
        if len(boundary) > _MAX_BOUNDARY_LENGTH:
            raise MultiPartException(
                f"The multipart boundary is longer than {_MAX_BOUNDARY_LENGTH} characters."
            )
        if not boundary.isascii():
            raise MultiPartException("The multipart boundary must be ASCII.")
        return boundary.encode("ascii")

    async def parse(self) -> FormData:
        boundary = self._boundary()
        parser_class, parse_error = _load_multipart()
        parser = parser_class(
            boundary,
            {
                "on_part_begin": self.on_part_begin,
                "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end,
                "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value,
                "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished,
                "on_end": self.on_end,
            },
        )
        parser.logger = cast(logging.Logger, _PARSER_LOG)
        delimiter = b"--" + boundary
        closing = delimiter + b"--"
        keep = len(closing) - 1
        tail = b""  # the last bytes before the chunk, for delimiters split across chunks
        preamble_done = False
        epilogue = -1  # bytes after the closing delimiter, once it was seen
        received = 0
        try:
            async for chunk in self.stream:
                received += len(chunk)
                if self.max_body_size is not None and received > self.max_body_size:
                    raise _too_large(
                        f"Request body is too large (limit: {self.max_body_size} bytes)."
                    )
                if epilogue >= 0:
                    # python-multipart ignores the epilogue: count it, skip the parser.
                    epilogue += len(chunk)
                    _check_epilogue(epilogue)
                    continue
                if not preamble_done:
                    index = _find_across(tail, chunk, delimiter)
                    preamble_done = index >= 0
                    # Unfound, the delimiter may still begin in the last bytes received.
                    preamble = (
                        received - len(chunk) - len(tail) + index
                        if preamble_done
                        else received - len(delimiter) + 1
                    )
                    if preamble > _MAX_PREAMBLE_SIZE:
                        raise MultiPartException(
                            f"The multipart preamble (the bytes before the first boundary) "
                            f"is too large (limit: {_MAX_PREAMBLE_SIZE} bytes)."
                        )
                try:
                    parser.write(chunk)
                except parse_error as exc:
                    raise MultiPartException(f"Malformed multipart body: {exc}") from None
                for upload, data in self._pending:
                    await self._write_upload(upload, data)
                self._pending.clear()
                if self._ended:
                    # The closing delimiter ends in this chunk (its last "-" ended it).
                    index = _find_across(tail, chunk, closing)
                    epilogue = len(tail) + len(chunk) - index - len(closing)
                    _check_epilogue(epilogue)
                elif len(chunk) >= keep:
                    tail = chunk[len(chunk) - keep :]
                else:
                    tail = (tail + chunk)[-keep:]
            parser.finalize()
            if not self._ended and received:
                raise MultiPartException(
                    "The multipart body is incomplete: its closing boundary is missing."
                )
            for _, value in self._items:
                if isinstance(value, UploadFile):
                    await value.seek(0)
        except BaseException:
            with anyio.CancelScope(shield=True):
                for _, value in self._items:
                    if isinstance(value, UploadFile):
                        await value.close()
            raise
        return FormData(self._items)

    async def _write_upload(self, upload: UploadFile, data: bytes) -> None:
        """Write ``data`` to ``upload``, in memory while both budgets allow, else on disk."""
        size = len(data)
        if id(upload) not in self._rolled:
            written = upload.size or 0
            spool = self.spool_max_size
            if self._upload_memory + size <= self.max_upload_memory and (
                not spool or written + size <= spool
            ):
                self._upload_memory += size
                await upload.write(data)  # in memory: in-line
                return
            # This write would pass a budget: the upload moves to disk now, off the loop.
            self._rolled.add(id(upload))
            self._upload_memory -= written
            self._count_disk(written)
            await anyio.to_thread.run_sync(cast(SpooledTemporaryFile[bytes], upload.file).rollover)
        self._count_disk(size)
        await upload.write(data)

    def _count_disk(self, size: int) -> None:
        self._upload_disk += size
        limit = self.max_upload_disk
        if limit is not None and self._upload_disk > limit:
            raise _too_large(f"The uploaded files are too large together (limit: {limit} bytes).")


def _check_epilogue(size: int) -> None:
    if size > _MAX_EPILOGUE_SIZE:
        raise MultiPartException(
            f"The multipart epilogue (the bytes after the closing boundary) is too large "
            f"(limit: {_MAX_EPILOGUE_SIZE} bytes)."
        )

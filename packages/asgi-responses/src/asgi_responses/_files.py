"""FileResponse: a file from disk, with conditional and Range requests."""

from __future__ import annotations

import email.utils
import os
import secrets
import stat
from collections.abc import Mapping
from mimetypes import guess_type

import anyio

from asgi_core.background import BackgroundTask
from asgi_core.requests import ClientDisconnect
from asgi_core.types import Message, Receive, Scope, Send
from asgi_responses._disposition import content_disposition
from asgi_responses._ranges import evaluate_preconditions, if_range_matches, parse_range
from asgi_responses._responses import Response, run_until_disconnect

__all__ = ["FileResponse"]

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


class FileResponse(Response):
    """Send the file at ``path``.

    The media type is guessed from ``filename`` or ``path`` (``text/plain`` when
    unknown). With ``filename``, a ``Content-Disposition`` header (RFC 6266, UTF-8
    names in ``filename*``) of ``content_disposition_type`` is added.

    Headers: ``Content-Length``, ``Last-Modified``, ``Accept-Ranges: bytes`` and a
    strong ``ETag`` made of the modification time (ns) and size. For a 200 answer to
    GET or HEAD it honours If-Match, If-Unmodified-Since (412), If-None-Match and
    If-Modified-Since (304), in RFC 9110 order, then Range with If-Range: one range
    gives a 206, several a ``multipart/byteranges`` 206, none satisfiable a 416.
    A Range header that is malformed or has more than 100 parts is ignored (200).

    A missing path raises ``RuntimeError``. The file is read off the event loop in
    64 KiB chunks, or handed to the server with the ``http.response.pathsend``
    extension when the scope advertises it.
    """

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        self.method = method
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "text/plain"
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
        names = {name for name, _ in self.raw_headers}
        size = stat_result.st_size
        if b"content-length" not in names:
            self.raw_headers.append((b"content-length", str(size).encode("latin-1")))
        if b"last-modified" not in names:
            last_modified = email.utils.formatdate(stat_result.st_mtime, usegmt=True)
            self.raw_headers.append((b"last-modified", last_modified.encode("latin-1")))
        if b"etag" not in names:
            etag = f'"{stat_result.st_mtime_ns:x}-{size:x}"'
            self.raw_headers.append((b"etag", etag.encode("latin-1")))

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
        if read and stat_result.st_size <= self.chunk_size:
            body = self._read_parts([(b"", 0, stat_result.st_size)], b"")
        return stat_result, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = (self.method or scope.get("method") or "GET").upper()
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
            read = not request and method != "HEAD" and _PATHSEND not in scope.get("extensions", {})
            found = await anyio.to_thread.run_sync(self._stat_and_read, read)
            stat_result = self.stat_result = found[0]
            body = found[1]
            self.set_stat_headers(stat_result)
        try:
            if request:
                await self._answer_conditionally(scope, receive, send, method, stat_result, request)
            else:
                await self._send_whole(scope, receive, send, method, stat_result.st_size, body)
        except ClientDisconnect:
            pass
        if self.background is not None:
            await self.background()

    async def _answer_conditionally(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        method: str,
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
            ranges = parse_range(range_header, size)
        if ranges is None:
            await self._send_whole(scope, receive, send, method, size)
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
        scope: Scope,
        receive: Receive,
        send: Send,
        method: str,
        size: int,
        body: bytes | None = None,
    ) -> None:
        await _start(send, self.status_code, self.raw_headers)
        if method == "HEAD":
            await _send(send, {"type": "http.response.body", "body": b""})
        elif body is not None:
            await _send(send, {"type": "http.response.body", "body": body})
        elif _PATHSEND in scope.get("extensions", {}):
            path = os.path.abspath(self.path)  # noqa: ASYNC240 - no I/O beyond getcwd()
            await _send(send, {"type": _PATHSEND, "path": path})
        else:
            await self._send_file(receive, send, [(b"", 0, size)], b"")

    async def _send_range(
        self, receive: Receive, send: Send, method: str, part: tuple[int, int], size: int
    ) -> None:
        start, stop = part
        headers = self._headers_without(b"content-length")
        headers.append((b"content-length", str(stop - start).encode("latin-1")))
        headers.append((b"content-range", f"bytes {start}-{stop - 1}/{size}".encode("latin-1")))
        await _start(send, 206, headers)
        if method == "HEAD":
            await _send(send, {"type": "http.response.body", "body": b""})
        else:
            await self._send_file(receive, send, [(b"", start, stop)], b"")

    async def _send_multipart(
        self,
        receive: Receive,
        send: Send,
        method: str,
        ranges: list[tuple[int, int]],
        size: int,
    ) -> None:
        boundary = secrets.token_hex(16)
        content_type = dict(self.raw_headers).get(b"content-type", b"application/octet-stream")
        part_type = b"Content-Type: " + content_type + b"\r\n"
        parts = [
            (
                b"--%s\r\n%sContent-Range: bytes %d-%d/%d\r\n\r\n"
                % (boundary.encode("ascii"), part_type, start, stop - 1, size),
                start,
                stop,
            )
            for start, stop in ranges
        ]
        trailer = b"--%s--\r\n" % boundary.encode("ascii")
        length = len(trailer) + sum(len(head) + stop - start + 2 for head, start, stop in parts)
        headers = self._headers_without(b"content-length", b"content-type")
        headers.append((b"content-length", str(length).encode("latin-1")))
        headers.append(
            (b"content-type", f"multipart/byteranges; boundary={boundary}".encode("latin-1"))
        )
        await _start(send, 206, headers)
        if method == "HEAD":
            await _send(send, {"type": "http.response.body", "body": b""})
        else:
            await self._send_file(receive, send, parts, trailer)

    async def _send_file(
        self, receive: Receive, send: Send, parts: list[tuple[bytes, int, int]], trailer: bytes
    ) -> None:
        """Send each part (a prefix, then bytes ``[start, stop)`` of the file), then
        ``trailer``; stop early if the client disconnects."""
        multipart = bool(trailer)
        chunk_size = self.chunk_size
        if sum(stop - start for _, start, stop in parts) <= chunk_size:
            body = await anyio.to_thread.run_sync(self._read_parts, parts, trailer)
            await _send(send, {"type": "http.response.body", "body": body})
            return

        async def stream() -> None:
            async with await anyio.open_file(self.path, "rb") as file:
                for head, start, stop in parts:
                    if head:
                        await _send(send, _more(head))
                    await file.seek(start)
                    remaining = stop - start
                    while remaining > 0:
                        chunk = await file.read(min(chunk_size, remaining))
                        if not chunk:  # the file shrank since it was measured
                            break
                        remaining -= len(chunk)
                        await _send(send, _more(chunk))
                    if multipart:
                        await _send(send, _more(b"\r\n"))
            await _send(send, {"type": "http.response.body", "body": trailer})

        await run_until_disconnect(receive, stream)

    def _read_parts(self, parts: list[tuple[bytes, int, int]], trailer: bytes) -> bytes:
        """A small body read whole, in a single worker-thread call."""
        out: list[bytes] = []
        with open(self.path, "rb") as file:
            for head, start, stop in parts:
                out.append(head)
                file.seek(start)
                out.append(file.read(stop - start))
                if trailer:
                    out.append(b"\r\n")
        out.append(trailer)
        return b"".join(out)


def _more(body: bytes) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": True}


async def _send(send: Send, message: Message) -> None:
    """``send``, turning the OSError of an ASGI 2.4 server into ClientDisconnect."""
    try:
        await send(message)
    except OSError:
        raise ClientDisconnect() from None


async def _start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await _send(send, {"type": "http.response.start", "status": status, "headers": headers})


async def _send_empty(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await _start(send, status, headers)
    await _send(send, {"type": "http.response.body", "body": b""})

import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest

from asgi_core import formparsers
from asgi_core.datastructures import Headers, UploadFile
from asgi_core.exceptions import ASGIDeprecationWarning, HTTPException
from asgi_core.formparsers import (
    FormMessage,
    FormParser,
    MultiPartException,
    MultiPartParser,
    MultipartPart,
)
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import Request
from asgi_core.types import Message

pytestmark = pytest.mark.anyio

BOUNDARY = "----formboundary"


def part(headers: Sequence[str], body: bytes, boundary: str = BOUNDARY) -> bytes:
    head = "".join(f"{header}\r\n" for header in headers)
    return f"--{boundary}\r\n{head}\r\n".encode() + body + b"\r\n"


def field(name: str, value: bytes, *extra: str) -> bytes:
    return part([f'Content-Disposition: form-data; name="{name}"', *extra], value)


def file(name: str, filename: str, content: bytes, *extra: str) -> bytes:
    return part(
        [f'Content-Disposition: form-data; name="{name}"; filename="{filename}"', *extra],
        content,
    )


def body(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


async def chunked(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def multipart_headers(content_type: str = f"multipart/form-data; boundary={BOUNDARY}") -> Headers:
    return Headers({"content-type": content_type})


async def parse(data: bytes, size: int = 1 << 20, **kwargs: Any) -> Any:
    parser = MultiPartParser(multipart_headers(), chunked(data, size), **kwargs)
    return await parser.parse()


async def parse_error(data: bytes, size: int = 1 << 20, **kwargs: Any) -> MultiPartException:
    with pytest.raises(MultiPartException) as info:
        await parse(data, size, **kwargs)
    return info.value


# --- FormParser ---------------------------------------------------------------------------


async def test_form_parser() -> None:
    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    form = await FormParser(headers, chunked(b"a=1&b=%C3%A9&c", 3)).parse()
    assert list(form.multi_items()) == [("a", "1"), ("b", "\xe9"), ("c", "")]


async def test_form_parser_charset() -> None:
    latin = Headers({"content-type": "application/x-www-form-urlencoded; charset=latin-1"})
    assert (await FormParser(latin, chunked(b"b=%E9")).parse())["b"] == "\xe9"
    unknown = Headers({"content-type": "application/x-www-form-urlencoded; charset=nope"})
    assert (await FormParser(unknown, chunked(b"b=%E9")).parse())["b"] == "\ufffd"


async def test_form_parser_limits() -> None:
    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    with pytest.raises(MultiPartException) as info:
        await FormParser(headers, chunked(b"a=1&" * 10, 4), max_size=20).parse()
    assert info.value.status_code == 413
    with pytest.raises(MultiPartException) as info:
        await FormParser(headers, chunked(b"a=1&" * 10), max_fields=5).parse()
    assert info.value.status_code == 400
    assert info.value.message == "Too many fields. Maximum number of fields is 5."


async def test_thousands_of_urlencoded_fields_are_refused() -> None:
    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    with pytest.raises(MultiPartException, match="1000"):
        await FormParser(headers, chunked(b"a&" * 200_000, 4096)).parse()


# --- MultiPartParser: success -------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 5, 13, 1 << 20])
async def test_multipart_split_anywhere(size: int) -> None:
    data = body(
        field("a", b"1"),
        file("f", "x.bin", b"\r\n--" + b"\x00\xff" * 50 + b"\r\n", "Content-Type: app/bin"),
        field("a", b"2"),
        field("empty", b""),
    )
    form = await parse(data, size)
    assert form.getlist("a") == ["1", "2"]
    assert form["empty"] == ""
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "x.bin"
    assert upload.size == 106
    assert upload.headers["content-type"] == "app/bin"
    assert await upload.read() == b"\r\n--" + b"\x00\xff" * 50 + b"\r\n"
    await form.close()


async def test_empty_filename_is_still_a_file() -> None:
    form = await parse(body(file("f", "", b"")))
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == ""
    assert upload.size == 0
    await form.close()


async def test_filename_star_never_overrides_filename() -> None:
    data = body(
        part(
            [
                "Content-Disposition: form-data; name*=UTF-8''evil; name=\"good\"; "
                "filename*=UTF-8''evil.sh; filename=\"good.txt\""
            ],
            b"x",
        ),
        part(["Content-Disposition: form-data; name=\"plain\"; filename*=UTF-8''evil.sh"], b"y"),
    )
    form = await parse(data)
    upload = form["good"]
    assert isinstance(upload, UploadFile)
    assert upload.filename == "good.txt"
    assert form["plain"] == "y"  # filename* alone is ignored: a plain field
    await form.close()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\dir\\a.txt", "a.txt"),
        ("C:\\\\x\\\\y.txt", "y.txt"),  # quoted-pair escaped backslashes
        ("\\\\\\\\srv\\\\b.txt", "b.txt"),  # an escaped UNC path
        ("\\\\srv\\b.txt", "\\srv\\b.txt"),  # "\\" unescapes to one backslash
        ("dir\\c.txt", "dir\\c.txt"),
        ("d.txt", "d.txt"),
    ],
)
async def test_windows_paths_are_cut_to_the_file_name(sent: str, kept: str) -> None:
    form = await parse(body(file("f", sent, b"x")))
    assert form["f"].filename == kept
    await form.close()


async def test_invalid_utf8_in_fields_is_replaced() -> None:
    form = await parse(body(field("t", b"caf\xe9 \xff")))
    assert form["t"] == "caf\ufffd \ufffd"


async def test_part_charset_is_used() -> None:
    data = body(
        field("latin", b"caf\xe9", "Content-Type: text/plain; charset=iso-8859-1"),
        field("bogus", b"caf\xc3\xa9", "Content-Type: text/plain; charset=bogus"),
        field("other", b"x", "X-Custom: 1"),
    )
    form = await parse(data)
    assert form["latin"] == "caf\xe9"
    assert form["bogus"] == "caf\xe9"
    assert form["other"] == "x"


async def test_request_charset_is_the_default() -> None:
    headers = multipart_headers(f"multipart/form-data; charset=latin-1; boundary={BOUNDARY}")
    data = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="n\xe9"\r\n\r\n\xe9\r\n'
        f"--{BOUNDARY}--\r\n"
    ).encode("latin-1")
    parser = MultiPartParser(headers, chunked(data))
    form = await parser.parse()
    assert form["n\xe9"] == "\xe9"


async def test_utf8_filename() -> None:
    name = "r\xe9sum\xe9 \u20ac.pdf"
    data = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="f"; filename="{name}"\r\n\r\n'
        f"pdf\r\n--{BOUNDARY}--\r\n"
    ).encode()
    form = await parse(data)
    assert form["f"].filename == name
    await form.close()


async def test_big_file_rolls_to_disk(tmp_path: Any) -> None:
    content = bytes(range(256)) * 40  # 10 KiB
    form = await parse(body(file("f", "big", content)), 1000, spool_max_size=1024)
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert upload.file._rolled  # type: ignore[attr-defined]
    assert upload.size == len(content)
    assert await upload.read() == content
    await form.close()
    assert upload.file.closed


async def test_file_size_is_not_bounded_by_part_size() -> None:
    form = await parse(body(file("f", "x", b"y" * 100)), max_part_size=10)
    assert form["f"].size == 100
    await form.close()


async def test_epilogue_is_ignored() -> None:
    data = body(field("a", b"1")) + b"epilogue"
    assert (await parse(data))["a"] == "1"


# --- MultiPartParser: limits and hostile input --------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "fragment"),
    [
        ("multipart/form-data", "no boundary"),
        ("multipart/form-data; boundary=", "no boundary"),
        ('multipart/form-data; boundary=""', "no boundary"),
        ("multipart/form-data; boundary=" + "a" * 71, "longer than 70"),
        ("multipart/form-data; boundary=\xe9", "ASCII"),
    ],
)
async def test_bad_boundary(content_type: str, fragment: str) -> None:
    parser = MultiPartParser(multipart_headers(content_type), chunked(b"x"))
    with pytest.raises(MultiPartException) as info:
        await parser.parse()
    assert info.value.status_code == 400
    assert fragment in info.value.message


async def test_longest_boundary_is_fine() -> None:
    boundary = "b" * 70
    headers = multipart_headers(f"multipart/form-data; boundary={boundary}")
    data = body(
        part(['Content-Disposition: form-data; name="a"'], b"1", boundary), boundary=boundary
    )
    assert (await MultiPartParser(headers, chunked(data)).parse())["a"] == "1"


async def test_too_many_fields() -> None:
    data = body(*(field(f"f{i}", b"v") for i in range(4)))
    assert len(await parse(data, max_fields=4)) == 4
    error = await parse_error(data, max_fields=3)
    assert error.status_code == 400
    assert error.message == "Too many fields. Maximum number of fields is 3."


async def test_too_many_files_closes_those_already_opened() -> None:
    opened: list[UploadFile] = []

    class Spy(MultiPartParser):
        def on_headers_finished(self) -> None:
            super().on_headers_finished()
            if self._part.file is not None:
                opened.append(self._part.file)

    data = body(*(file(f"f{i}", f"{i}.txt", b"data") for i in range(3)))
    parser = Spy(multipart_headers(), chunked(data, 7), max_files=2)
    with pytest.raises(MultiPartException, match="Maximum number of files is 2") as info:
        await parser.parse()
    assert info.value.status_code == 400
    assert len(opened) == 2
    assert all(upload.file.closed for upload in opened)


async def test_thousands_of_tiny_parts_stop_at_the_limit() -> None:
    data = body(*(field("f", b"") for _ in range(1500)))
    error = await parse_error(data, 4096)
    assert "Maximum number of fields is 1000" in error.message


async def test_oversized_field_part() -> None:
    assert (await parse(body(field("a", b"x" * 10)), max_part_size=10))["a"] == "x" * 10
    error = await parse_error(body(field("a", b"x" * 11)), 3, max_part_size=10)
    assert error.status_code == 413
    assert "10 bytes" in error.message


async def test_fields_together_are_bounded() -> None:
    data = body(*(field(f"f{i}", b"x" * 10) for i in range(5)))
    form = await parse(data, 7, max_buffered_size=50)
    assert len(form) == 5
    error = await parse_error(data, 7, max_buffered_size=49)
    assert error.status_code == 413
    assert "together" in error.message
    # File content is spooled, not buffered: it does not count.
    await (await parse(body(file("f", "x", b"y" * 100)), max_buffered_size=10)).close()


async def test_max_body_size() -> None:
    data = body(file("f", "x", b"y" * 1000))
    error = await parse_error(data, 100, max_body_size=500)
    assert error.status_code == 413
    form = await parse(data, 100, max_body_size=len(data))
    await form.close()


async def test_too_many_part_headers() -> None:
    headers = ['Content-Disposition: form-data; name="a"'] + [f"X-H{i}: v" for i in range(6)]
    error = await parse_error(body(part(headers, b"1")))
    assert error.status_code == 400
    assert "too many headers" in error.message
    assert (await parse(body(part(headers[:6], b"1"))))["a"] == "1"


async def test_too_large_part_headers() -> None:
    headers = [
        'Content-Disposition: form-data; name="a"',
        "X-A: " + "a" * 4000,
        "X-B: " + "b" * 4000,
        "X-C: " + "c" * 4000,
    ]
    error = await parse_error(body(part(headers, b"1")), 512)
    assert "headers of a multipart part are too large" in error.message


async def test_part_without_content_disposition() -> None:
    error = await parse_error(body(part(["Content-Type: text/plain"], b"1")))
    assert "no Content-Disposition" in error.message


async def test_part_without_name() -> None:
    error = await parse_error(body(part(["Content-Disposition: form-data"], b"1")))
    assert 'must have a "name"' in error.message


async def test_malformed_body() -> None:
    error = await parse_error(b"--" + BOUNDARY.encode() + b"\r\nno colon here\r\n\r\n")
    assert error.status_code == 400
    assert error.message.startswith("Malformed multipart body")


async def test_missing_closing_boundary() -> None:
    data = body(file("f", "x", b"data"))[: -len(f"--{BOUNDARY}--\r\n")]
    error = await parse_error(data)
    assert "closing boundary is missing" in error.message
    assert (await parse_error(b"\r\n")).message.endswith("missing.")


async def test_empty_body_is_an_empty_form() -> None:
    assert len(await parse(b"")) == 0


async def test_the_names_of_part_dispositions_are_remembered_within_bounds() -> None:
    """The same answer from the cache as from parsing; at most 256 short values kept."""
    cache = formparsers._DISPOSITIONS
    parts = [field(f"f{i}", b"v") for i in range(300)]
    long_name = "n" * 300
    parts.append(field(long_name, b"long"))
    parts.append(file("doc", "a;b.txt", b"data"))
    for _ in range(2):  # parsed, then (the last ones) from the cache
        form = await parse(body(*parts))
        assert [form[f"f{i}"] for i in (0, 299)] == ["v", "v"]
        assert form[long_name] == "long"
        assert form["doc"].filename == "a;b.txt"
        assert 0 < len(cache) <= 256
        assert all(len(value) <= 256 for value, _ in cache)
    assert cache[(b'form-data; name="f299"', "utf-8")] == ("f299", None)
    # the same bytes under another charset are another entry
    data = body(field("caf\xe9", b"x"))  # the name in UTF-8
    assert list((await parse(data)).keys()) == ["caf\xe9"]
    latin = MultiPartParser(
        multipart_headers(f"multipart/form-data; boundary={BOUNDARY}; charset=latin-1"),
        chunked(data),
    )
    assert list((await latin.parse()).keys()) == ["caf\xc3\xa9"]


async def test_missing_python_multipart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_multipart.multipart", None)
    monkeypatch.setattr(formparsers, "_multipart", None)  # the import, as if first
    with pytest.raises(RuntimeError, match=r"Install asgi-core\[forms\] to parse forms"):
        await parse(body(field("a", b"1")))


async def test_cancellation_closes_files() -> None:
    data = body(file("f", "x", b"data"), field("a", b"1"))
    half = data.index(b'name="a"')
    seen: list[UploadFile] = []

    class Spy(MultiPartParser):
        def on_headers_finished(self) -> None:
            super().on_headers_finished()
            if self._part.file is not None:
                seen.append(self._part.file)

    with anyio.CancelScope() as scope:

        async def stream() -> AsyncIterator[bytes]:
            yield data[:half]
            scope.cancel()  # cancelled while waiting for the rest of the body
            await anyio.sleep_forever()
            yield b""  # pragma: no cover

        await Spy(multipart_headers(), stream()).parse()
    assert scope.cancelled_caught
    assert len(seen) == 1
    assert seen[0].file.closed


# --- through Request.form() ---------------------------------------------------------------


def request_for(data: bytes, content_type: str, *, size: int = 1 << 20) -> Request:
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", content_type.encode("latin-1"))],
    }
    return Request(scope, receive)


@pytest.mark.parametrize(
    "template",
    [
        "multipart/form-data; boundary={}",  # as browsers and HTTP clients send it
        'multipart/form-data; boundary="{}"',
        "multipart/form-data; boundary={}; charset=utf-8",
        "Multipart/Form-Data; BOUNDARY={}",
        "multipart/form-data;boundary={}",
        "multipart/form-data; boundary={} ",
    ],
)
@pytest.mark.parametrize("boundary", ["----WebKitFormBoundary7MA4YWxk", "a_b.c", "9"])
async def test_request_form_reads_the_boundary_however_it_is_written(
    template: str, boundary: str
) -> None:
    data = body(
        part(['Content-Disposition: form-data; name="a"'], b"1", boundary), boundary=boundary
    )
    form = await request_for(data, template.format(boundary)).form()
    assert list(form.items()) == [("a", "1")]


@pytest.mark.parametrize(
    ("content_type", "data", "status"),
    [
        ("multipart/form-data", b"x", 400),
        ("multipart/form-data; boundary=" + "a" * 71, b"x", 400),
        (f"multipart/form-data; boundary={BOUNDARY}", body(field("a", b"x" * 2_000_000)), 413),
        (f"multipart/form-data; boundary={BOUNDARY}", b"--" + BOUNDARY.encode() + b"\r\n", 400),
    ],
)
async def test_request_form_errors_are_http_exceptions_inside_an_app(
    content_type: str, data: bytes, status: int
) -> None:
    request = request_for(data, content_type, size=65536)
    request.scope["app"] = object()
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == status
    assert info.value.detail


@pytest.mark.parametrize(
    ("content_type", "data", "status"),
    [
        ("multipart/form-data", b"x", 400),
        (f"multipart/form-data; boundary={BOUNDARY}", body(field("a", b"x" * 2_000_000)), 413),
        ("application/x-www-form-urlencoded", b"a=" + b"x" * 1_048_577, 413),
        ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 1001), 400),
    ],
)
async def test_request_form_errors_outside_an_app_are_the_parsers_own(
    content_type: str, data: bytes, status: int
) -> None:
    """Without scope["app"] (a raw ASGI app, another framework), as in Starlette, the
    parser's MultiPartException comes through: `except MultiPartException` catches it."""
    request = request_for(data, content_type, size=65536)
    with pytest.raises(MultiPartException) as info:
        await request.form()
    assert not isinstance(info.value, HTTPException)
    assert info.value.status_code == status
    assert info.value.message


@pytest.mark.anyio
async def test_malformed_multipart_is_not_logged_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hostile body is the client's error (400): python-multipart's complaint about it
    goes to asgi_core.formparsers at DEBUG, never a WARNING in the server's log."""
    body = b'--xyzJ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--xyz--'
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MultiPartException):
        await MultiPartParser(
            Headers({"content-type": "multipart/form-data; boundary=xyz"}), chunked(body)
        ).parse()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(r.name == "asgi_core.formparsers" for r in caplog.records)


# --- urlencoded max_part_size -----------------------------------------------------------


def urlencoded_headers() -> Headers:
    return Headers({"content-type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize(
    "data",
    [
        b"a=" + b"x" * 11,  # the value
        b"x" * 11 + b"=1",  # the name
        b"x" * 11,  # a name without a value
        b"ok=1&a=" + b"%41" * 4,  # the value as sent (12 bytes), not decoded (4)
    ],
)
async def test_urlencoded_field_name_or_value_over_max_part_size_is_413(data: bytes) -> None:
    parser = FormParser(urlencoded_headers(), chunked(data), max_part_size=10)
    with pytest.raises(MultiPartException, match="limit: 10 bytes") as info:
        await parser.parse()
    assert info.value.status_code == 413


async def test_urlencoded_max_part_size_bounds_name_and_value_each() -> None:
    data = b"x" * 10 + b"=" + b"y" * 10
    form = await FormParser(urlencoded_headers(), chunked(data), max_part_size=10).parse()
    assert form["x" * 10] == "y" * 10
    # the default is 1 MiB, as for a multipart part
    assert FormParser(urlencoded_headers(), chunked(b"")).max_part_size == 1024 * 1024
    big = b"a=" + b"x" * (1024 * 1024 + 1)
    with pytest.raises(MultiPartException):
        await FormParser(urlencoded_headers(), chunked(big), max_size=1 << 30).parse()


# --- Starlette's public parser API ---------------------------------------------------------


def test_multi_part_exception_takes_a_message_and_defaults_to_400() -> None:
    exc = MultiPartException("bad")
    assert (exc.message, exc.status_code, str(exc)) == ("bad", 400, "bad")


def test_multipart_parser_class_defaults() -> None:
    assert MultiPartParser.spool_max_size == 1024 * 1024
    assert MultiPartParser.max_part_size == 1024 * 1024
    parser = MultiPartParser(multipart_headers(), chunked(b""), max_part_size=5, spool_max_size=7)
    assert (parser.max_part_size, parser.spool_max_size) == (5, 7)


async def test_multipart_callbacks_are_public_and_see_each_part() -> None:
    parts: list[MultipartPart] = []

    class Recording(MultiPartParser):
        def on_part_end(self) -> None:
            super().on_part_end()
            parts.append(self._part)

    data = body(field("a", b"1", "X-Extra: yes"), file("f", "f.txt", b"data"))
    form = await Recording(multipart_headers(), chunked(data, 5)).parse()
    assert form["a"] == "1"
    assert [part.field_name for part in parts] == ["a", "f"]
    assert parts[0].content_disposition == b'form-data; name="a"'
    assert (b"x-extra", b"yes") in parts[0].item_headers
    assert parts[0].data == bytearray(b"1")
    assert parts[0].file is None
    assert parts[1].file is form["f"]
    await form.close()


def test_multipart_part_defaults() -> None:
    part, other = MultipartPart(), MultipartPart()
    assert (part.content_disposition, part.field_name, part.file) == (None, "", None)
    assert part.data == bytearray()
    assert part.item_headers == []
    assert part.data is not other.data
    assert part.item_headers is not other.item_headers


def test_form_message_is_deprecated() -> None:
    assert [member.name for member in FormMessage] == [
        "FIELD_START",
        "FIELD_NAME",
        "FIELD_DATA",
        "FIELD_END",
        "END",
    ]
    with pytest.warns(ASGIDeprecationWarning, match="FormMessage is deprecated"):
        assert FormMessage(1) is FormMessage.FIELD_START


# --- the per-request upload budgets (memory, then disk) ----------------------------------


def rolled(form: Any) -> list[bool]:
    return [value.file._rolled for _, value in form.multi_items()]


async def test_uploads_share_a_memory_budget_then_roll_to_disk() -> None:
    parts = [file(f"f{i}", f"{i}.bin", b"x" * 400) for i in range(4)]
    form = await parse(body(*parts), 100, spool_max_size=1000, max_upload_memory=1000)
    # 400 + 400 fit; the third would pass 1000 together: it moves to disk, and so on.
    assert rolled(form) == [False, False, True, True]
    for _, upload in form.multi_items():
        assert await upload.read() == b"x" * 400
    await form.close()


async def test_an_upload_rolls_over_mid_file_keeping_what_it_held() -> None:
    form = await parse(
        body(file("a", "a", b"a" * 300), file("b", "b", b"b" * 900)),
        100,
        spool_max_size=0,  # no per-file threshold: only the budget moves files
        max_upload_memory=1000,
    )
    assert rolled(form) == [False, True]
    assert await form["b"].read() == b"b" * 900
    await form.close()


async def test_uploads_past_the_disk_budget_are_413_and_closed() -> None:
    data = body(file("a", "a", b"a" * 600), file("b", "b", b"b" * 600))
    error = await parse_error(data, 100, max_upload_memory=500, max_upload_disk=1000)
    assert error.status_code == 413
    assert "too large together (limit: 1000 bytes)" in error.message
    form = await parse(data, 100, max_upload_memory=500, max_upload_disk=None)
    assert rolled(form) == [True, True]
    await form.close()


async def test_request_form_uses_the_upload_budgets_of_its_limits() -> None:
    data = body(file("a", "a", b"a" * 600))
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
        LIMITS_KEY: RequestLimits(max_upload_memory=100, max_upload_disk=200),
    }
    messages = [{"type": "http.request", "body": data}]

    async def receive() -> Message:
        return messages.pop(0)

    with pytest.raises(MultiPartException) as info:
        await Request(scope, receive).form()
    assert info.value.status_code == 413

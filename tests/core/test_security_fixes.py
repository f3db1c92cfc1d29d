"""Regression tests for the security review's asgi-core findings (D1, D5, D6, D7, N1, N4)."""

import gc
import io
import json
import threading
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from tempfile import SpooledTemporaryFile
from typing import Any

import pytest
from asgi_driver import make_scope

import asgi_core.formparsers
from asgi_core._parsers import json_depth, parse_content_type, parse_json
from asgi_core.datastructures import URL, Headers, UploadFile, URLPath
from asgi_core.exceptions import HTTPException
from asgi_core.formparsers import FormParser, MultiPartException, MultiPartParser
from asgi_core.requests import Request
from asgi_core.types import Message, Scope

BOUNDARY = "----formboundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
FIELD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{BOUNDARY}--'
).encode()
LIMIT = 64 * 1024  # the documented preamble / epilogue bound


# --- D1: the rollover to disk runs in a worker thread ------------------------------------


class RecordingSpool(SpooledTemporaryFile):  # type: ignore[type-arg]
    """A real spooled file recording the threads its writes and rollover ran in."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size=max_size)
        self.write_threads: list[int] = []
        self.rollover_threads: list[int] = []

    def write(self, data: Any) -> int:
        self.write_threads.append(threading.get_ident())
        return super().write(data)

    def rollover(self) -> None:
        self.rollover_threads.append(threading.get_ident())
        super().rollover()


@pytest.mark.anyio
async def test_write_that_rolls_over_runs_in_a_worker_thread() -> None:
    loop = threading.get_ident()
    with RecordingSpool(max_size=10) as spool:
        upload = UploadFile(spool, size=0)  # type: ignore[arg-type]
        await upload.write(b"12345")
        await upload.write(b"67890")  # exactly max_size: still in memory
        assert spool.write_threads == [loop, loop]
        assert not spool.rollover_threads
        await upload.write(b"a")  # crosses max_size: the rollover
        assert spool.rollover_threads
        assert loop not in spool.rollover_threads
        assert spool.write_threads[2] != loop
        await upload.seek(0)
        assert await upload.read() == b"1234567890a"
        assert upload.size == 11


@pytest.mark.anyio
async def test_write_after_seek_back_counts_the_position() -> None:
    loop = threading.get_ident()
    with RecordingSpool(max_size=10) as spool:
        upload = UploadFile(spool)  # type: ignore[arg-type]
        await upload.write(b"123456789")
        await upload.seek(0)
        await upload.write(b"abcdefghi")  # overwrites: position 9, no rollover
        assert spool.write_threads == [loop, loop]
        assert not spool.rollover_threads
        await upload.seek(0)
        assert await upload.read() == b"abcdefghi"


@pytest.mark.anyio
async def test_spool_without_max_size_never_leaves_the_loop() -> None:
    loop = threading.get_ident()
    with RecordingSpool(max_size=0) as spool:
        upload = UploadFile(spool)  # type: ignore[arg-type]
        await upload.write(b"x" * 100_000)
        assert spool.write_threads == [loop]
        assert not spool.rollover_threads


@pytest.mark.anyio
async def test_bytesio_upload_writes_in_line() -> None:
    upload = UploadFile(io.BytesIO())
    await upload.write(b"x" * 100_000)
    assert await upload.read() == b""  # in-line write left the position at the end
    await upload.seek(0)
    assert len(await upload.read()) == 100_000


async def single(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.anyio
async def test_multipart_upload_over_the_spool_size_rolls_over_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    original = SpooledTemporaryFile.rollover

    def spy(self: Any) -> None:
        threads.append(threading.get_ident())
        original(self)

    monkeypatch.setattr(SpooledTemporaryFile, "rollover", spy)
    content = b"x" * 3000
    data = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    parser = MultiPartParser(
        Headers({"content-type": CONTENT_TYPE}), single(data), spool_max_size=1024
    )
    form = await parser.parse()
    upload = form["f"]
    assert isinstance(upload, UploadFile)
    assert await upload.read() == content
    await form.close()
    assert threads
    assert threading.get_ident() not in threads


# --- D5: multipart preamble and epilogue limits ---------------------------------------------


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def parse(data: bytes, size: int) -> list[tuple[str, Any]]:
    parser = MultiPartParser(Headers({"content-type": CONTENT_TYPE}), chunked(data, size))
    form = await parser.parse()
    return list(form.multi_items())


async def parse_error(data: bytes, size: int) -> MultiPartException:
    with pytest.raises(MultiPartException) as info:
        await parse(data, size)
    return info.value


# 7 splits the boundary across chunks and keeps chunks shorter than the delimiter; 4096
# puts the first delimiter at the start of a chunk; 1 MiB reads everything at once.
SIZES = [1, 7, 4096, 1 << 20]


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_preamble_up_to_the_limit_is_ignored(size: int) -> None:
    preamble = b"\r\n" * (LIMIT // 2)
    assert await parse(preamble + FIELD + b"\r\n", size) == [("a", "1")]


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_preamble_over_the_limit_is_400(size: int) -> None:
    error = await parse_error(b"\n" + b"\r\n" * (LIMIT // 2) + FIELD + b"\r\n", size)
    assert error.status_code == 400
    assert "preamble" in error.message
    assert str(LIMIT) in error.message


@pytest.mark.anyio
async def test_preamble_is_refused_before_the_body_ends() -> None:
    """A preamble that never ends is refused once it passes the limit."""
    read = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal read
        while True:
            read += 1024
            yield b"\r\n" * 512

    parser = MultiPartParser(Headers({"content-type": CONTENT_TYPE}), endless())
    with pytest.raises(MultiPartException, match="preamble"):
        await parser.parse()
    assert LIMIT < read <= LIMIT + 2048


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_epilogue_up_to_the_limit_is_ignored(size: int) -> None:
    assert await parse(FIELD + b"\r\n" * (LIMIT // 2), size) == [("a", "1")]


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES)
async def test_epilogue_over_the_limit_is_400(size: int) -> None:
    error = await parse_error(FIELD + b"x" + b"\r\n" * (LIMIT // 2), size)
    assert error.status_code == 400
    assert "epilogue" in error.message
    assert str(LIMIT) in error.message


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, 7, 1 << 20])
async def test_epilogue_of_an_empty_form(size: int) -> None:
    empty = f"--{BOUNDARY}--".encode()
    assert await parse(empty + b"\r\n", size) == []
    error = await parse_error(empty + b"x" * (LIMIT + 1), size)
    assert "epilogue" in error.message


@pytest.mark.anyio
async def test_form_with_a_huge_preamble_or_epilogue_is_an_http_400() -> None:
    for data in (b"\r\n" * (1 << 19) + FIELD, FIELD + b"\r\n" * (1 << 19)):
        request = Request(request_scope(CONTENT_TYPE), receive_chunks([data]))
        with pytest.raises(HTTPException) as info:
            await request.form()
        assert info.value.status_code == 400
        assert "too large" in str(info.value.detail)


# --- D6: json_depth memory ------------------------------------------------------------------


def test_json_depth_memory_is_proportionate_to_the_body() -> None:
    body = b'{"a":' * 100_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="nested too deeply"):
            parse_json(body, max_depth=64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(body)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@pytest.mark.parametrize("count", [1, 500, 3000])
def test_json_depth_across_scan_blocks(count: int) -> None:
    """Long documents whose strings (with brackets, quotes and backslashes) straddle
    the blocks the scan works in."""
    text = 'x[{\\"]}' * 7
    value = [{"k\\": [text, [[text]], {"q": '"' * 11}]} for _ in range(count)]
    value.append([[[[["\\" * 5 + "["]]]]])
    document = json.dumps(value).encode()
    assert json_depth(document) == _depth(value) == 6


def test_json_depth_escapes() -> None:
    assert json_depth(b'["\\\\", [1]]') == 2  # an escaped backslash ends before the quote
    assert json_depth(b'["\\"[", [1]]') == 2  # an escaped quote does not end the string
    assert json_depth(b'["\\\\\\"[[[", [1]]') == 2
    assert json_depth(b"[" * 20_000 + b"]" * 20_000) == 20_000
    assert json_depth(b"]" * 20_000 + b"[[") == 0


# --- D7: URLs made absolute without an authority ------------------------------------------


def test_absolute_url_without_authority_is_relative() -> None:
    assert str(URLPath("/named", protocol="http").make_absolute_url("")) == "/named"
    assert str(URLPath("/named").make_absolute_url(URL("/sub/"))) == "/sub/named"
    assert str(URLPath("/ws", protocol="websocket").make_absolute_url("/")) == "/ws"
    # Never a scheme-relative "//other-host".
    assert str(URLPath("//evil.com/x").make_absolute_url("")) == "/evil.com/x"
    assert str(URLPath("/\\evil.com").make_absolute_url("/")) == "/evil.com"
    # An explicit host still gives an absolute URL.
    absolute = URLPath("/n", protocol="http", host="example.org").make_absolute_url("/")
    assert str(absolute) == "http://example.org/n"


def test_request_base_url_without_valid_authority_gives_relative_url_for() -> None:
    scope: Scope = {
        "type": "http",
        "scheme": "http",
        "path": "/x",
        "root_path": "/app",
        "headers": [(b"host", b"evil.com/?")],
        "server": None,
    }
    base_url = Request(scope).base_url
    url = URLPath("/named", protocol="http").make_absolute_url(base_url)
    assert str(url) == "/app/named"


# --- N1: Content-Type unescaping, parsed once -----------------------------------------------


@pytest.mark.parametrize(
    ("quoted", "expected"),
    [
        ("a\\\\b", "a\\b"),
        ('a\\"b', 'a"b'),
        ('\\\\\\"', '\\"'),
        ('\\\\\\\\\\"x', '\\\\"x'),
        ("C:\\dir\\\\f.txt", "C:\\dir\\f.txt"),
        ("\\\\\\x", "\\\\x"),
    ],
)
def test_quoted_pairs(quoted: str, expected: str) -> None:
    assert parse_content_type(f'form-data; filename="{quoted}"')[1]["filename"] == expected


def test_many_escapes_are_linear() -> None:
    value = 'a/b; f="' + "\\\\" * 100_000 + '\\"' + '"'
    assert parse_content_type(value)[1]["f"] == "\\" * 100_000 + '"'


@pytest.mark.anyio
async def test_parsers_use_the_parameters_they_are_given() -> None:
    bare = Headers({"content-type": "multipart/form-data"})  # no boundary here
    parser = MultiPartParser(
        bare, single(FIELD + b"\r\n"), content_type_params={"boundary": BOUNDARY}
    )
    assert list((await parser.parse()).multi_items()) == [("a", "1")]
    latin = FormParser(
        Headers({"content-type": "application/x-www-form-urlencoded"}),
        single(b"b=%E9"),
        content_type_params={"charset": "latin-1"},
    )
    assert (await latin.parse())["b"] == "\xe9"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded; charset=utf-8", b"a=1"),
        (CONTENT_TYPE, FIELD + b"\r\n"),
    ],
)
async def test_form_parses_the_content_type_once(
    monkeypatch: pytest.MonkeyPatch, content_type: str, data: bytes
) -> None:
    seen: list[str] = []
    original = asgi_core.formparsers.parse_content_type

    def spy(value: str) -> tuple[str, dict[str, str]]:
        seen.append(value)
        return original(value)

    monkeypatch.setattr(asgi_core.formparsers, "parse_content_type", spy)
    form = await Request(request_scope(content_type), receive_chunks([data])).form()
    assert form["a"] == "1"
    assert content_type not in seen


# --- N4: body readers are closed deterministically ------------------------------------------


def request_scope(content_type: str) -> Scope:
    """A request inside an application (scope["app"]): form errors are HTTPExceptions."""
    headers = [("content-type", content_type)]
    return make_scope("POST", "/", headers, server=("example.org", 80), app=object())


def receive_chunks(chunks: Sequence[bytes]) -> Any:
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return messages.pop(0)

    return receive


@pytest.mark.anyio
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("content_type", "chunks", "status"),
    [
        ("application/x-www-form-urlencoded", [b"a=" + b"x" * 2_000_000] * 3, 413),
        ("application/x-www-form-urlencoded", [b"a=1&"] * 1001, 400),
        (CONTENT_TYPE, [FIELD[:-2] + b"x" * (2 << 20)] * 2, 413),
        (CONTENT_TYPE, [b"junk"] * 3, 400),
    ],
)
async def test_form_stopping_early_closes_the_body_reader(
    content_type: str, chunks: list[bytes], status: int
) -> None:
    request = Request(request_scope(content_type), receive_chunks(chunks))
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == status
    del info, request
    gc.collect()  # an unclosed generator would be finalized (and warn) here


@pytest.mark.anyio
@pytest.mark.filterwarnings("error")
async def test_closing_the_stream_part_way_closes_the_body_reader() -> None:
    request = Request(request_scope("text/plain"), receive_chunks([b"a", b"b", b"c"]))
    stream = request.stream()
    assert await stream.__anext__() == b"a"
    await stream.aclose()
    del stream, request
    gc.collect()

from __future__ import annotations

import contextlib
import email.utils
import os
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from asgi_driver import (
    call,
    disconnect_when,
    idle_receive,
    make_scope,
    recorder,
    run,
    websocket_scope,
)

from asgi_core.background import BackgroundTask
from asgi_responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

CONTENT = bytes(range(256)) * 4  # 1024 bytes, every byte value


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    return path


def etag_of(path: Path) -> str:
    st = path.stat()
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def last_modified_of(path: Path) -> str:
    return email.utils.formatdate(path.stat().st_mtime, usegmt=True)


# ---- whole files ----------------------------------------------------------------


async def test_whole_file_and_headers(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_text("hello")
    result = await run(FileResponse(path))
    assert result.status == 200
    assert result.body == b"hello"
    assert result.complete
    assert result.raw_headers == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"accept-ranges", b"bytes"),
        (b"content-length", b"5"),
        (b"last-modified", last_modified_of(path).encode()),
        (b"etag", etag_of(path).encode()),
    ]


async def test_media_type_guessing(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>")
    (tmp_path / "blob.unknownext").write_bytes(b"?")
    html = await run(FileResponse(tmp_path / "page.html"))
    assert html.header("content-type") == "text/html; charset=utf-8"
    unknown = await run(FileResponse(tmp_path / "blob.unknownext"))
    assert unknown.header("content-type") == "application/octet-stream"
    by_name = await run(FileResponse(tmp_path / "blob.unknownext", filename="x.png"))
    assert by_name.header("content-type") == "image/png"
    explicit = await run(FileResponse(tmp_path / "page.html", media_type="application/x-a"))
    assert explicit.header("content-type") == "application/x-a"


async def test_content_disposition(data_file: Path) -> None:
    result = await run(FileResponse(data_file, filename="naïve report.pdf"))
    assert result.header("content-disposition") == (
        "attachment; filename=\"naive report.pdf\"; filename*=utf-8''na%C3%AFve%20report.pdf"
    )
    inline = await run(FileResponse(data_file, filename="a.pdf", content_disposition_type="inline"))
    assert inline.header("content-disposition") == 'inline; filename="a.pdf"'
    given = FileResponse(data_file, filename="a.pdf", headers={"Content-Disposition": "inline"})
    assert given.headers.getlist("content-disposition") == ["inline"]


async def test_stat_result_is_reused(data_file: Path) -> None:
    st = os.stat(data_file)
    response = FileResponse(data_file, stat_result=st)
    assert response.headers["content-length"] == "1024"
    assert response.headers["etag"] == etag_of(data_file)
    result = await run(response)
    assert result.body == CONTENT


async def test_user_headers_are_not_overwritten(data_file: Path) -> None:
    response = FileResponse(
        data_file,
        headers={
            "ETag": '"mine"',
            "Last-Modified": "x",
            "Accept-Ranges": "none",
            "Content-Length": "1024",
        },
    )
    result = await run(response)
    assert result.header_values("etag") == ['"mine"']
    assert result.header_values("last-modified") == ["x"]
    assert result.header_values("accept-ranges") == ["none"]
    assert result.header_values("content-length") == ["1024"]
    revalidated = await run(
        FileResponse(data_file, headers={"ETag": '"mine"'}), headers=[("If-None-Match", '"mine"')]
    )
    assert revalidated.status == 304


async def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        await run(FileResponse(tmp_path / "nope.txt"))
    with pytest.raises(RuntimeError, match="is not a file"):
        await run(FileResponse(tmp_path))


async def test_head(data_file: Path) -> None:
    result = await run(FileResponse(data_file), method="HEAD")
    assert result.header("content-length") == "1024"
    assert result.body == b""
    forced = await run(FileResponse(data_file, method="head"))
    assert forced.body == b""


async def test_large_file_is_chunked(tmp_path: Path) -> None:
    big = os.urandom(200_000)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    result = await run(FileResponse(path))
    assert result.body == big
    sizes = [len(m["body"]) for m in result.messages[1:]]
    assert sizes == [65536, 65536, 65536, 200_000 - 3 * 65536, 0]


async def test_file_shrinking_while_sent(data_file: Path) -> None:
    response = FileResponse(data_file, stat_result=os.stat(data_file))
    data_file.write_bytes(b"short")
    result, send = recorder()
    with pytest.raises(RuntimeError, match="is shorter than expected"):
        await response(make_scope(), idle_receive, send)
    assert result.header("content-length") == "1024"
    assert result.body == b""  # never a body shorter than its Content-Length


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_large_file_shrinking_while_sent(tmp_path: Path, spec_version: str) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    response = FileResponse(path, stat_result=os.stat(path))
    path.write_bytes(b"y" * 70_000)
    result, send = recorder()
    scope = make_scope(asgi={"version": "3.0", "spec_version": spec_version})
    with pytest.raises(RuntimeError, match="is shorter than expected"):
        await response(scope, idle_receive, send)
    assert result.header("content-length") == "200000"
    assert result.body == b"y" * 70_000
    assert not result.complete


async def test_multipart_part_shrinking_while_sent(data_file: Path) -> None:
    response = FileResponse(data_file, stat_result=os.stat(data_file))
    data_file.write_bytes(b"short")
    result, send = recorder()
    scope = make_scope(headers=[("Range", "bytes=0-1,1000-1010")])
    with pytest.raises(RuntimeError, match="is shorter than expected"):
        await response(scope, idle_receive, send)
    assert result.status == 206
    assert result.body == b""


async def test_pathsend(data_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extensions = {"http.response.pathsend": {}}
    result = await run(FileResponse(data_file), extensions=extensions)
    assert result.messages[1] == {"type": "http.response.pathsend", "path": str(data_file)}
    monkeypatch.chdir(data_file.parent)
    relative = await run(FileResponse("data.bin"), extensions=extensions)
    assert relative.messages[1]["path"] == str(data_file)
    head = await run(FileResponse(data_file), method="HEAD", extensions=extensions)
    assert head.messages[1] == {"type": "http.response.body", "body": b""}


async def test_background_runs_after_file(data_file: Path) -> None:
    ran: list[int] = []
    response = FileResponse(data_file, background=BackgroundTask(ran.append, 1))
    await run(response)
    assert ran == [1]


# ---- disconnects ----------------------------------------------------------------


async def test_disconnect_stops_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (64 * 1024 * 20))
    messages: list[Any] = []
    sent = anyio.Event()

    async def send(message: Any) -> None:
        messages.append(message)
        if len(messages) == 3:
            sent.set()
        await anyio.sleep(0)

    await FileResponse(path)(make_scope(), disconnect_when(sent), send)
    assert len(messages) < 20
    assert messages[-1].get("more_body") is True


async def test_send_oserror_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    ran: list[int] = []
    sends = 0

    async def send(message: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 2:
            raise OSError("closed")

    response = FileResponse(path, background=BackgroundTask(ran.append, 1))
    await response(make_scope(), idle_receive, send)
    assert sends == 2
    assert ran == [1]


# ---- conditional requests -------------------------------------------------------


async def test_if_none_match_gives_304(data_file: Path) -> None:
    headers = {"Cache-Control": "max-age=60", "X-Other": "dropped", "Vary": "Accept"}
    result = await run(
        FileResponse(data_file, headers=headers),
        headers=[("If-None-Match", etag_of(data_file))],
    )
    assert result.status == 304
    assert result.body == b""
    assert sorted(k for k, _ in result.raw_headers) == [
        b"cache-control",
        b"etag",
        b"last-modified",
        b"vary",
    ]


async def test_if_modified_since(data_file: Path) -> None:
    fresh = await run(
        FileResponse(data_file), headers=[("If-Modified-Since", last_modified_of(data_file))]
    )
    assert fresh.status == 304
    old = email.utils.formatdate(data_file.stat().st_mtime - 100, usegmt=True)
    stale = await run(FileResponse(data_file), headers=[("If-Modified-Since", old)])
    assert stale.status == 200
    assert stale.body == CONTENT


async def test_if_match_failure_gives_412(data_file: Path) -> None:
    result = await run(FileResponse(data_file), headers=[("If-Match", '"other"')])
    assert result.status == 412
    assert result.raw_headers == [(b"content-length", b"0")]
    ok = await run(FileResponse(data_file), headers=[("If-Match", etag_of(data_file))])
    assert ok.status == 200


async def test_conditionals_only_for_200_get_and_head(data_file: Path) -> None:
    etag = [("If-None-Match", etag_of(data_file)), ("Range", "bytes=0-1")]
    not_found = await run(FileResponse(data_file, status_code=404), headers=etag)
    assert not_found.status == 404
    assert not_found.body == CONTENT
    post = await run(FileResponse(data_file), method="POST", headers=etag)
    assert post.status == 200
    assert post.body == CONTENT


async def test_unrelated_request_headers(data_file: Path) -> None:
    result = await run(FileResponse(data_file), headers=[("Accept", "*/*"), ("X-Range", "1")])
    assert result.status == 200
    assert result.body == CONTENT


# ---- ranges ---------------------------------------------------------------------


async def test_single_range(data_file: Path) -> None:
    result = await run(FileResponse(data_file), headers=[("Range", "bytes=10-19")])
    assert result.status == 206
    assert result.body == CONTENT[10:20]
    assert result.header("content-range") == "bytes 10-19/1024"
    assert result.header_values("content-length") == ["10"]
    assert result.header("content-type") == "application/octet-stream"


async def test_suffix_range_head(data_file: Path) -> None:
    result = await run(FileResponse(data_file), method="HEAD", headers=[("Range", "bytes=-4")])
    assert result.status == 206
    assert result.header("content-range") == "bytes 1020-1023/1024"
    assert result.header("content-length") == "4"
    assert result.body == b""


async def test_range_across_chunks(tmp_path: Path) -> None:
    big = os.urandom(150_000)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    result = await run(FileResponse(path), headers=[("Range", "bytes=1000-140000")])
    assert result.body == big[1000:140001]


def _expected_multipart(boundary: str, parts: list[tuple[int, int]], kind: str) -> bytes:
    out = b""
    for start, stop in parts:
        out += (
            f"--{boundary}\r\nContent-Type: {kind}\r\n"
            f"Content-Range: bytes {start}-{stop - 1}/1024\r\n\r\n"
        ).encode()
        out += CONTENT[start:stop] + b"\r\n"
    return out + f"--{boundary}--".encode()


async def test_multiple_ranges(data_file: Path) -> None:
    response = FileResponse(data_file, media_type="application/octet-stream")
    result = await run(response, headers=[("Range", "bytes=500-509, 0-4, 3-7, -2")])
    assert result.status == 206
    content_type = result.header("content-type")
    assert content_type is not None
    match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{32})", content_type)
    assert match is not None
    expected = _expected_multipart(
        match.group(1), [(0, 8), (500, 510), (1022, 1024)], "application/octet-stream"
    )
    assert result.body == expected
    assert result.header_values("content-length") == [str(len(expected))]
    assert result.header("content-range") is None


async def test_multiple_large_ranges(tmp_path: Path) -> None:
    big = os.urandom(150_000)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    result = await run(FileResponse(path), headers=[("Range", "bytes=100000-,0-69999")])
    assert result.status == 206
    content_type = result.header("content-type")
    assert content_type is not None
    boundary = content_type.rpartition("=")[2]
    expected = (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: bytes 0-69999/150000\r\n\r\n"
    ).encode()
    expected += big[:70_000] + b"\r\n"
    expected += (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: bytes 100000-149999/150000\r\n\r\n"
    ).encode()
    expected += big[100_000:] + f"\r\n--{boundary}--".encode()
    assert result.body == expected
    assert result.header("content-length") == str(len(expected))


async def test_multiple_ranges_head_and_random_boundary(data_file: Path) -> None:
    ranges = [("Range", "bytes=0-0,2-2")]
    first = await run(FileResponse(data_file), method="HEAD", headers=ranges)
    second = await run(FileResponse(data_file), method="HEAD", headers=ranges)
    assert first.status == 206
    assert first.body == b""
    assert first.header("content-type") != second.header("content-type")
    assert first.header("content-length") == second.header("content-length")


async def test_unsatisfiable_range(data_file: Path) -> None:
    result = await run(FileResponse(data_file), headers=[("Range", "bytes=5000-")])
    assert result.status == 416
    assert result.raw_headers == [(b"content-range", b"bytes */1024"), (b"content-length", b"0")]
    assert result.body == b""


@pytest.mark.parametrize(
    "header",
    [
        "bytes=9-1",
        "lines=1-2",
        "bytes=abc",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 404, 2)),
        "bytes=" + "0-," * 10_000,
    ],
)
async def test_ignored_ranges_send_whole_file(data_file: Path, header: str) -> None:
    result = await run(FileResponse(data_file), headers=[("Range", header)])
    assert result.status == 200
    assert result.body == CONTENT


async def test_if_range(data_file: Path) -> None:
    etag, date = etag_of(data_file), last_modified_of(data_file)
    for validator, status in [(etag, 206), (date, 206), ('"stale"', 200), ("W/" + etag, 200)]:
        result = await run(
            FileResponse(data_file), headers=[("Range", "bytes=0-1"), ("If-Range", validator)]
        )
        assert result.status == status, validator
        assert result.body == (CONTENT[:2] if status == 206 else CONTENT)


async def test_over_the_test_client(data_file: Path) -> None:
    reply = await AsyncTestClient(FileResponse(data_file)).get("/", headers={"Range": "bytes=1-2"})
    assert reply.status_code == 206
    assert reply.content == CONTENT[1:3]


# ---- Starlette's surface: positional order, max_ranges, generate_multipart ----------


def test_positional_order_is_starlettes(data_file: Path) -> None:
    response = FileResponse(data_file, 201, {"x-a": "1"}, "text/csv", None, "a.csv", None, "inline")
    assert response.status_code == 201
    assert response.headers["content-disposition"] == 'inline; filename="a.csv"'
    assert response.media_type == "text/csv"
    with pytest.raises(TypeError):
        FileResponse(data_file, 200, None, None, None, None, None, "inline", "HEAD")  # type: ignore[misc]


async def test_max_ranges_can_be_lowered(data_file: Path) -> None:
    class OneRange(FileResponse):
        max_ranges = 1

    assert FileResponse.max_ranges == 100
    two = [("Range", "bytes=0-1,5-6")]
    assert (await run(OneRange(data_file), headers=two)).status == 200
    assert (await run(OneRange(data_file), headers=[("Range", "bytes=0-1")])).status == 206


def test_generate_multipart(data_file: Path) -> None:
    response = FileResponse(data_file)
    length, part_head = response.generate_multipart([(0, 5), (10, 12)], "b0", 1024, "text/plain")
    assert part_head(10, 12) == (
        b"--b0\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-11/1024\r\n\r\n"
    )
    body = part_head(0, 5) + b"x" * 5 + b"\r\n" + part_head(10, 12) + b"yy\r\n" + b"--b0--"
    assert length == len(body)
    assert response.generate_multipart([], "b0", 0, "text/plain")[0] == len(b"--b0--")


def test_range_exceptions() -> None:
    assert MalformedRangeHeader().content == "Malformed range header."
    assert MalformedRangeHeader("Only bytes").content == "Only bytes"
    assert RangeNotSatisfiable(1024).max_size == 1024


# ---- ASGI spec 2.4 and WebSocket scopes -------------------------------------------


def open_descriptors(path: Path) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # the directory's own descriptor, gone
            count += os.readlink(fd) == str(path)
    return count


async def never_called() -> dict[str, Any]:
    raise AssertionError("receive() must not be polled from ASGI spec 2.4 on")


SPEC_2_4 = {"version": "3.0", "spec_version": "2.4"}


async def test_from_spec_2_4_receive_is_not_polled(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    result = await run(FileResponse(path), receive=never_called, asgi=SPEC_2_4)
    assert result.body == b"x" * 200_000
    assert result.complete


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
async def test_from_spec_2_4_a_send_oserror_closes_the_file_and_propagates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    ran: list[int] = []
    sends = 0

    async def send(message: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            assert open_descriptors(path) == 1
            raise OSError("connection reset")

    response = FileResponse(path, background=BackgroundTask(ran.append, 1))
    with pytest.raises(OSError, match="connection reset"):
        await response(make_scope(asgi=SPEC_2_4), never_called, send)
    assert sends == 3
    assert open_descriptors(path) == 0
    assert ran == []  # the response did not complete


async def test_from_spec_2_4_small_files_and_errors_at_start(data_file: Path) -> None:
    _, send = recorder(OSError("gone"))
    with pytest.raises(OSError, match="gone"):
        await FileResponse(data_file)(make_scope(asgi=SPEC_2_4), never_called, send)
    ok = await run(FileResponse(data_file), receive=never_called, asgi=SPEC_2_4)
    assert ok.body == CONTENT


@pytest.mark.parametrize("version", ["2.3", "2.4"])
async def test_on_a_websocket_scope_it_is_a_denial_response(data_file: Path, version: str) -> None:
    ran: list[int] = []
    response = FileResponse(data_file, background=BackgroundTask(ran.append, 1))
    scope = websocket_scope(
        asgi={"version": "3.0", "spec_version": version},
        extensions={"http.response.pathsend": {}, "websocket.http.response": {}},
    )
    messages = await call(response, scope, never_called)
    assert [m["type"] for m in messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert messages[0]["status"] == 200
    assert messages[1]["body"] == CONTENT
    assert ran == [1]

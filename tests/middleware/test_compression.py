"""CompressionMiddleware (zstd, brotli, gzip) and the pure Accept-Encoding negotiation."""

from __future__ import annotations

import gzip
import sys
import zlib

import brotli
import pytest
import zstandard
from asgi_driver import queue_receive, run
from hypothesis import given
from hypothesis import strategies as st

from asgi_core.types import Receive, Scope, Send
from asgi_middleware._negotiation import parse_accept_encoding, select_encoding
from asgi_middleware.compression import CompressionMiddleware, available_encodings

BIG = b"compress me please " * 100
ALL = ("zstd", "br", "gzip")


# --- negotiation (pure) ------------------------------------------------------------


def test_parse_accept_encoding() -> None:
    assert parse_accept_encoding("gzip, BR;q=0.5 , zstd;q=1.000, identity;q=0") == {
        "gzip": 1.0,
        "br": 0.5,
        "zstd": 1.0,
        "identity": 0.0,
    }
    assert parse_accept_encoding("gzip;level=1;q=0.3") == {"gzip": 0.3}
    assert parse_accept_encoding("gzip;level=1") == {"gzip": 1.0}
    assert parse_accept_encoding("gzip;q=0.2, gzip;q=1") == {"gzip": 0.2}


@pytest.mark.parametrize(
    "junk",
    ["", ",,,", ";q=1", "gzip;q=2", "gzip;q=0.1234", "gzip;q=", "gzip;q=abc", "g zip", "é", "\x00"],
)
def test_junk_items_are_ignored(junk: str) -> None:
    assert parse_accept_encoding(junk) == {}
    assert select_encoding(junk, ALL) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip, br", "br"),
        ("gzip;q=1, br;q=0.9", "gzip"),
        ("x-gzip", "gzip"),
        ("x-gzip;q=0.5, gzip;q=0.1", "gzip"),
        ("*", "zstd"),
        ("*;q=0.5, zstd;q=0", "br"),
        ("br;q=0, *", "zstd"),
        ("identity", None),
        ("gzip;q=0.5, identity;q=1", None),
        ("gzip;q=0.5, identity;q=0.5", "gzip"),
        ("identity;q=0", None),
        ("*;q=0", None),
        ("deflate, compress", None),
    ],
)
def test_select_encoding(header: str, expected: str | None) -> None:
    assert select_encoding(header, ALL) == expected


def test_select_encoding_respects_server_order() -> None:
    assert select_encoding("gzip, br", ("gzip", "br")) == "gzip"
    assert select_encoding("gzip, br", ()) is None


@given(st.text(max_size=200))
def test_negotiation_never_raises(header: str) -> None:
    result = select_encoding(header, ALL)
    assert result is None or result in ALL


# --- the middleware ----------------------------------------------------------------


async def big_app(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(BIG)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BIG})


async def stream_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": BIG, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    await send({"type": "http.response.body", "body": b"end", "more_body": False})


def decode(coding: str | None, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return bytes(brotli.decompress(data))
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    assert coding is None
    return data


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, br, zstd", "zstd"),
        ("gzip, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0.4, gzip;q=0.5", "gzip"),
        ("identity", None),
        ("\xff\x00garbage;;;q===", None),
    ],
)
async def test_negotiated_one_shot(accept: str, coding: str | None) -> None:
    result = await run(CompressionMiddleware(big_app), headers={"accept-encoding": accept})
    body = result.messages[1]["body"]
    assert result.headers.get("content-encoding") == coding
    assert decode(coding, body) == BIG
    assert result.headers["content-length"] == str(len(body))
    # identity too: a client accepting a coding would have had another body
    assert result.headers["vary"] == "Accept-Encoding"


@pytest.mark.anyio
@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
async def test_streams_flush_every_chunk(coding: str) -> None:
    result = await run(CompressionMiddleware(stream_app), headers={"accept-encoding": coding})
    bodies = result.messages[1:]
    assert result.headers["content-encoding"] == coding
    assert "content-length" not in result.headers
    first = bodies[0]["body"]
    # the first flushed chunk is decodable on its own
    if coding == "gzip":
        assert zlib.decompressobj(31).decompress(first) == BIG
    elif coding == "br":
        assert brotli.Decompressor().process(first) == BIG
    else:
        assert zstandard.ZstdDecompressor().decompressobj().decompress(first) == BIG
    assert bodies[1]["body"] == b""
    assert decode(coding, b"".join(m["body"] for m in bodies)) == BIG + b"end"


@pytest.mark.anyio
async def test_interleaved_streams_do_not_share_state() -> None:
    middleware = CompressionMiddleware(stream_app, encodings=["zstd"])
    first = await run(middleware, headers={"accept-encoding": "zstd"})
    second = await run(middleware, headers={"accept-encoding": "zstd"})
    for result in (first, second):
        bodies = result.messages[1:]
        assert decode("zstd", b"".join(m["body"] for m in bodies)) == BIG + b"end"


@pytest.mark.anyio
async def test_settings_and_exclusions() -> None:
    middleware = CompressionMiddleware(
        big_app,
        minimum_size=10_000,
        encodings=["gzip"],
        gzip_level=1,
        brotli_quality=1,
        zstd_level=1,
        exclude_content_types=["text/plain"],
    )
    assert middleware.minimum_size == 10_000
    headers = (await run(middleware, headers={"accept-encoding": "gzip"})).headers
    assert "content-encoding" not in headers
    assert "vary" not in headers
    excluded = CompressionMiddleware(big_app, exclude_content_types=["TEXT/*"])
    headers = (await run(excluded, headers={"accept-encoding": "gzip"})).headers
    assert "content-encoding" not in headers
    assert "vary" not in headers


async def typed_app(scope: Scope, receive: Receive, send: Send) -> None:
    content_type = dict(scope["headers"])[b"x-type"]
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": BIG})


@pytest.mark.anyio
@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        (b"text/event-stream", False),
        (b"application/grpc+proto", False),
        (b"video/webm", False),
        (b"image/webp; x=1", False),
        (b"text/html; charset=utf-8", True),
    ],
)
async def test_every_coding_has_the_default_exclusions(
    coding: str, content_type: bytes, compressed: bool
) -> None:
    headers = [(b"accept-encoding", coding.encode()), (b"x-type", content_type)]
    never = queue_receive([])  # the app reads no body
    result = await run(CompressionMiddleware(typed_app), "GET", "/", headers, receive=never)
    assert result.headers.get("content-encoding") == (coding if compressed else None)
    assert result.headers.get("vary") == ("Accept-Encoding" if compressed else None)


@pytest.mark.anyio
@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
async def test_every_coding_compresses_large_chunks_in_a_thread(coding: str) -> None:
    middleware = CompressionMiddleware(stream_app, thread_minimum_size=100)
    assert middleware.thread_minimum_size == 100
    bodies = (await run(middleware, headers={"accept-encoding": coding})).messages[1:]
    assert decode(coding, b"".join(m["body"] for m in bodies)) == BIG + b"end"
    big = CompressionMiddleware(big_app, thread_minimum_size=100)
    result = await run(big, headers={"accept-encoding": coding})
    assert decode(coding, result.messages[1]["body"]) == BIG


def test_unknown_coding_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown content-coding 'deflate'"):
        CompressionMiddleware(big_app, encodings=["deflate"])


def test_optional_codings_offered_only_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert available_encodings() == ("zstd", "br", "gzip")
    monkeypatch.setitem(sys.modules, "brotli", None)
    assert available_encodings() == ("zstd", "gzip")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    assert available_encodings() == ("gzip",)
    assert tuple(CompressionMiddleware(big_app)._codecs) == ("gzip",)
    with pytest.raises(ImportError, match=r"asgi-middleware\[brotli\]"):
        CompressionMiddleware(big_app, encodings=["br"])
    with pytest.raises(ImportError, match=r"asgi-middleware\[zstd\]"):
        CompressionMiddleware(big_app, encodings=["zstd", "gzip"])

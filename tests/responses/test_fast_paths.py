"""The fast paths of the response classes give what their general paths give.

Response and JSONResponse build a str body and their default headers without calling
``render``/``init_headers`` when a subclass did not override them; small headers come
from bounded caches; FileResponse reads a small file in the thread call that stats it.
Each test compares a fast path with the general one (an overriding subclass, or the
public method called directly), or drives a cache past its bound.
"""

from __future__ import annotations

import email.utils
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import idle_receive, make_scope, run

from asgi_core.background import BackgroundTask
from asgi_responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response

pytestmark = pytest.mark.anyio


class OwnRender(PlainTextResponse):
    """Overrides render (the general path), doing what the fast path does."""

    def render(self, content: Any) -> bytes | memoryview:
        return super().render(content)


class OwnHeaders(PlainTextResponse):
    def init_headers(self, headers: Any = None) -> None:
        super().init_headers(headers)


class OwnJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(content)


class OwnJSONHeaders(JSONResponse):
    def init_headers(self, headers: Any = None) -> None:
        super().init_headers(headers)


class NoMediaJSON(JSONResponse):
    media_type = None


class Latin1(PlainTextResponse):
    charset = "latin-1"


CASES: list[tuple[Any, int]] = [
    ("Hello, World!", 200),
    ("caf\u00e9", 201),
    ("", 200),
    ("x" * 10_000, 200),  # a length beyond the Content-Length cache
    ("no body", 204),
    ("no body", 304),
    ("informational", 101),
]


@pytest.mark.parametrize(("content", "status"), CASES)
def test_text_fast_path_matches_the_general_paths(content: str, status: int) -> None:
    fast = PlainTextResponse(content, status_code=status)
    for cls in (OwnRender, OwnHeaders):
        general = cls(content, status_code=status)
        assert fast.body == general.body
        assert fast.raw_headers == general.raw_headers
    assert fast.body == fast.render(content)


@pytest.mark.parametrize("status", [200, 204, 304, 101])
def test_json_fast_path_matches_the_general_paths(status: int) -> None:
    content = {"message": "Hello, World!", "n": [1, 2.5, None, True], "\u00e9": "\u2603"}
    fast = JSONResponse(content, status_code=status)
    for cls in (OwnJSON, OwnJSONHeaders):
        general = cls(content, status_code=status)
        assert fast.body == general.body
        assert fast.raw_headers == general.raw_headers
    assert fast.body == fast.render(content)
    expected = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert fast.body == expected.encode()


def test_without_a_media_type_only_the_length_is_set() -> None:
    assert NoMediaJSON([1]).raw_headers == [(b"content-length", b"3")]
    assert NoMediaJSON([1], status_code=204).raw_headers == []
    assert Response(b"ab").raw_headers == [(b"content-length", b"2")]


def test_another_charset_takes_the_general_content_type() -> None:
    response = Latin1("caf\u00e9")
    assert response.body == "caf\u00e9".encode("latin-1")
    assert (b"content-type", b"text/plain; charset=latin-1") in response.raw_headers


def test_content_types_beyond_the_cache_bound_are_still_right() -> None:
    for index in range(300):
        response = HTMLResponse("x", media_type=f"text/x-kind-{index}")
        assert response.raw_headers[-1] == (
            b"content-type",
            f"text/x-kind-{index}; charset=utf-8".encode(),
        )


def test_a_header_list_is_never_shared_between_responses() -> None:
    first, second = PlainTextResponse("same"), PlainTextResponse("same")
    first.headers["x-one"] = "1"
    assert "x-one" not in second.headers
    assert first.raw_headers is not second.raw_headers


async def test_head_gets_the_headers_and_no_body() -> None:
    result = await run(PlainTextResponse("Hello"), method="HEAD")
    assert result.body == b""
    assert (b"content-length", b"5") in result.messages[0]["headers"]


# ---- FileResponse: a small file read whole in one thread call ---------------------


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.txt"
    path.write_bytes(b"0123456789" * 100)
    return path


@pytest.mark.parametrize("version", ["2.3", "2.4"])
async def test_small_file_matches_the_streamed_answer(small_file: Path, version: str) -> None:
    class Streamed(FileResponse):
        chunk_size = 64  # the file is bigger: read in chunks (the general path)

    asgi = {"version": "3.0", "spec_version": version}
    fast = await run(FileResponse(small_file), asgi=asgi)
    general = await run(Streamed(small_file), asgi=asgi)
    assert fast.body == general.body == small_file.read_bytes()
    assert fast.messages[0] == general.messages[0]


async def test_small_file_send_oserror_below_2_4_is_quiet(small_file: Path) -> None:
    ran: list[int] = []

    async def send(message: Any) -> None:
        raise OSError("gone")

    response = FileResponse(small_file, background=BackgroundTask(ran.append, 1))
    await response(make_scope(), idle_receive, send)
    assert ran == [1]


async def test_a_short_read_is_completed(small_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = os.read

    def at_most_100(fd: int, size: int) -> bytes:
        return real_read(fd, min(size, 100))  # as a read interrupted part way does

    monkeypatch.setattr(os, "read", at_most_100)
    result = await run(FileResponse(small_file))
    ranged = await run(FileResponse(small_file), headers=[("range", "bytes=5-904")])
    monkeypatch.undo()
    assert result.body == small_file.read_bytes()
    assert ranged.status == 206
    assert ranged.body == small_file.read_bytes()[5:905]


def test_last_modified_beyond_the_cache_bound_is_still_right(small_file: Path) -> None:
    for index in range(1030):
        seconds = 1_000_000 + index
        os.utime(small_file, (seconds, seconds))
        response = FileResponse(small_file, stat_result=small_file.stat())
        last_modified = dict(response.raw_headers)[b"last-modified"].decode()
        assert last_modified == email.utils.formatdate(seconds, usegmt=True)


JSON_VALUES: list[Any] = [
    'top-level text \u2603 "quoted" \\ \n',
    0,
    -1.5e300,
    True,
    None,
    [],
    {},
    {"nested": [{"a": [1, {"b": None}]}], "unicode": "\u00e9\U0001f600", "ctrl": "\x00\x1f"},
    [1, 2.0, 3e-7, "x", [None]],
    {1: "int key", 2.5: "float key", None: "null key", False: "bool key"},
    ("a", "tuple"),
]


@pytest.mark.parametrize("value", JSON_VALUES)
def test_json_body_is_what_json_dumps_gives(value: Any) -> None:
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert JSONResponse(value).body == expected.encode()
    assert OwnJSON(value).body == expected.encode()


def test_json_errors_leave_the_encoders_usable() -> None:
    circular: list[Any] = []
    circular.append(circular)
    for _ in range(3):
        with pytest.raises(ValueError, match="Circular reference"):
            JSONResponse(circular)
        with pytest.raises(ValueError, match="not JSON compliant"):
            JSONResponse({"x": float("nan")})
        with pytest.raises(TypeError, match="not JSON serializable"):
            JSONResponse({"x": object()})
        shared = [1]
        assert JSONResponse([shared, shared]).body == b"[[1],[1]]"  # no false cycle


@pytest.mark.parametrize("cls", [JSONResponse, OwnJSON])
def test_json_cycles_and_too_deep_nesting_raise_as_json_dumps_does(
    cls: type[JSONResponse],
) -> None:
    # The shared encoder checks no cycles; on RecursionError the checking one answers.
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference detected"):
        json.dumps(circular)
    with pytest.raises(ValueError, match="Circular reference detected"):
        cls(circular)
    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit() * 2):
        deep = [deep]
    with pytest.raises(RecursionError):
        json.dumps(deep)
    with pytest.raises(RecursionError):
        cls(deep)
    assert cls({"after": [1, {"ok": True}]}).body == b'{"after":[1,{"ok":true}]}'


def test_json_encoding_nested_in_json_encoding() -> None:
    class Items(dict[str, Any]):
        def items(self) -> Any:  # the C encoder calls this: encode again meanwhile
            inner = JSONResponse({"inner": [1]}).body
            return [("inner", inner.decode())]

    assert JSONResponse(Items(x=1)).body == b'{"inner":"{\\"inner\\":[1]}"}'


@pytest.mark.parametrize("given", ["content-length", "last-modified", "etag"])
async def test_a_stat_header_already_set_is_kept_and_the_others_added(
    small_file: Path, given: str
) -> None:
    response = FileResponse(small_file, headers={given: "mine"})
    result = await run(response)
    headers = [(name.decode(), value) for name, value in result.messages[0]["headers"]]
    for name in ("content-length", "last-modified", "etag"):
        assert [value for key, value in headers if key == name] != []
        assert len([value for key, value in headers if key == name]) == 1
    assert (given, b"mine") in headers

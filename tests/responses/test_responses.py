from __future__ import annotations

import array
import datetime
import email.utils
import time
from collections.abc import AsyncIterable, Iterable
from typing import Any

import pytest
from asgi_driver import call, make_scope, queue_receive, run

from asgi_core.background import BackgroundTask
from asgi_responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    responses,
)
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio


# ---- construction ---------------------------------------------------------------


def test_bytes_body_and_content_length() -> None:
    response = Response(b"hello", media_type="application/octet-stream")
    assert response.body == b"hello"
    assert response.raw_headers == [
        (b"content-length", b"5"),
        (b"content-type", b"application/octet-stream"),
    ]


def test_str_body_is_encoded_and_text_gets_charset() -> None:
    response = Response("héllo", media_type="text/plain")
    assert response.body == "héllo".encode()
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len("héllo".encode()))


def test_explicit_charset_is_kept() -> None:
    response = Response("x", media_type="text/csv; Charset=latin-1")
    assert response.headers["content-type"] == "text/csv; Charset=latin-1"


def test_non_text_media_type_gets_no_charset() -> None:
    assert Response("x", media_type="image/svg+xml").headers["content-type"] == "image/svg+xml"


def test_no_content_and_no_media_type() -> None:
    response = Response()
    assert response.body == b""
    assert response.raw_headers == [(b"content-length", b"0")]


def test_memoryview_body() -> None:
    response = Response(memoryview(b"abc"))
    assert bytes(response.body) == b"abc"
    assert response.headers["content-length"] == "3"


def test_memoryview_content_length_counts_bytes() -> None:
    numbers = memoryview(array.array("i", [1, 2, 3]))
    response = Response(numbers)
    assert response.headers["content-length"] == str(numbers.nbytes)
    assert bytes(response.body) == numbers.tobytes()
    strided = memoryview(b"abcdef")[::2]  # not contiguous: copied
    every_other = Response(strided)
    assert every_other.body == b"ace"
    assert every_other.headers["content-length"] == "3"


def test_other_content_is_rendered_as_text() -> None:
    assert PlainTextResponse(42).body == b"42"


@pytest.mark.parametrize("status", [100, 101, 204, 304])
def test_no_content_length_for_bodiless_status(status: int) -> None:
    response = Response(status_code=status)
    assert "content-length" not in response.headers


def test_user_headers_win() -> None:
    response = PlainTextResponse(
        "abc", headers={"Content-Length": "3", "Content-Type": "text/x-custom", "X-A": "1"}
    )
    assert response.raw_headers == [
        (b"content-length", b"3"),
        (b"content-type", b"text/x-custom"),
        (b"x-a", b"1"),
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("x-a", "1\r\nSet-Cookie: b=2"),
        ("x-a\r\nb", "1"),
        ("x-a", "1\n"),
        ("x-a", "a\x00b"),
        ("x-a\rb", "1"),
    ],
)
def test_headers_argument_refuses_cr_lf_nul(key: str, value: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        PlainTextResponse("x", headers={"x-ok": "1", key: value})


def test_headers_argument_keeps_tabs_and_latin_1_text() -> None:
    response = Response(b"", headers={"x-a": "a\tb", "x-b": "caf\xe9\xa0", "x-c": "\x85"})
    assert response.raw_headers[:3] == [
        (b"x-a", b"a\tb"),
        (b"x-b", b"caf\xe9\xa0"),
        (b"x-c", b"\x85"),
    ]


@pytest.mark.parametrize("value", ["\x7f", "a\x01b", "\x1b[31m", "\x0b"])
def test_headers_argument_refuses_every_control_character(value: str) -> None:
    with pytest.raises(ValueError, match=r"'x-a'.*control character"):
        Response(b"", headers={"x-a": value})


def test_headers_argument_refuses_text_beyond_latin_1_naming_the_header() -> None:
    with pytest.raises(ValueError, match=r"'x-name'.*beyond latin-1"):
        Response(b"", headers={"x-name": "snow \u2603"})
    with pytest.raises(ValueError, match="beyond latin-1"):
        Response(b"", headers={"x-\u2603": "1"})


def test_headers_write_through_to_raw_headers() -> None:
    response = Response(b"")
    assert response.headers is response.headers
    response.headers["X-Test"] = "yes"
    assert (b"x-test", b"yes") in response.raw_headers


def test_html_and_plain_text_media_types() -> None:
    assert HTMLResponse("<p>").headers["content-type"] == "text/html; charset=utf-8"
    assert PlainTextResponse("p").headers["content-type"] == "text/plain; charset=utf-8"


def test_json_is_compact_and_unicode() -> None:
    response = JSONResponse({"a": [1, 2], "é": None})
    assert response.body == '{"a":[1,2],"é":null}'.encode()
    assert response.headers["content-type"] == "application/json"


def test_json_content_is_required() -> None:
    with pytest.raises(TypeError):
        JSONResponse()  # type: ignore[call-arg]
    ran: list[int] = []
    response = JSONResponse(
        [1],
        202,
        {"x-a": "1"},
        "application/problem+json",
        BackgroundTask(ran.append, 1),
    )
    assert (response.status_code, response.body) == (202, b"[1]")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.background is not None
    assert JSONResponse(None).body == b"null"


def test_content_type_aliases() -> None:
    assert responses.Content == str | bytes | memoryview
    assert responses.SyncContentStream == Iterable[responses.Content]
    assert responses.AsyncContentStream == AsyncIterable[responses.Content]
    assert responses.ContentStream == responses.AsyncContentStream | responses.SyncContentStream


def test_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        JSONResponse({"x": float("nan")})


def test_json_render_can_be_overridden() -> None:
    class Pretty(JSONResponse):
        def render(self, content: Any) -> bytes:
            return b"custom:" + repr(content).encode()

    assert Pretty([1]).body == b"custom:[1]"


# ---- redirects ------------------------------------------------------------------


def test_redirect_defaults_to_307() -> None:
    response = RedirectResponse("/next?a=1#frag")
    assert response.status_code == 307
    assert response.headers["location"] == "/next?a=1#frag"
    assert response.body == b""


def test_redirect_status_and_headers() -> None:
    response = RedirectResponse("https://example.com/", 301, headers={"X-A": "b"})
    assert response.status_code == 301
    assert response.headers["x-a"] == "b"
    assert response.headers["location"] == "https://example.com/"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/a\r\nSet-Cookie: evil=1", "/a%0D%0ASet-Cookie:%20evil=1"),
        ("/ü space", "/%C3%BC%20space"),
        ("/already%20quoted", "/already%20quoted"),
        ("/\x00\x7f\t", "/%00%7F%09"),
    ],
)
def test_redirect_location_cannot_inject(url: str, location: str) -> None:
    response = RedirectResponse(url)
    assert response.headers["location"] == location
    assert all(b"\r" not in v and b"\n" not in v for _, v in response.raw_headers)


# ---- cookies --------------------------------------------------------------------


def test_set_cookie_all_attributes() -> None:
    response = Response()
    response.set_cookie(
        "session",
        "abc",
        max_age=10,
        expires="Thu, 01 Jan 2037 00:00:00 GMT",
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="strict",
        partitioned=True,
    )
    assert response.headers.getlist("set-cookie") == [
        "session=abc; Domain=example.com; expires=Thu, 01 Jan 2037 00:00:00 GMT; HttpOnly; "
        "Max-Age=10; Partitioned; Path=/app; SameSite=strict; Secure"
    ]


def test_set_cookie_defaults() -> None:
    response = Response()
    response.set_cookie("a")
    response.set_cookie("b", "2", path=None, samesite=None)
    assert response.headers.getlist("set-cookie") == ['a=""; Path=/; SameSite=lax', "b=2"]


def test_cookie_value_with_spaces_is_quoted() -> None:
    response = Response()
    response.set_cookie("a", 'x y"z')
    assert response.headers["set-cookie"].startswith('a="x y\\"z"; ')


def test_cookie_expires_int_is_relative() -> None:
    response = Response()
    before = time.time()
    response.set_cookie("a", expires=100)
    value = response.headers["set-cookie"]
    stamp = value.split("expires=")[1].split(";")[0]
    parsed = email.utils.parsedate_to_datetime(stamp).timestamp()
    assert before + 99 <= parsed <= time.time() + 101
    assert stamp.endswith(" GMT")


def test_cookie_expires_datetime() -> None:
    response = Response()
    aware = datetime.datetime(2037, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    naive = datetime.datetime(2037, 1, 2, 3, 4, 5)
    shifted = datetime.datetime(
        2037, 1, 2, 5, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    for moment in (aware, naive, shifted):
        response.set_cookie("a", expires=moment)
    assert (
        response.headers.getlist("set-cookie")
        == ['a=""; expires=Fri, 02 Jan 2037 03:04:05 GMT; Path=/; SameSite=lax'] * 3
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": "a b"},
        {"key": "a;b"},
        {"key": ""},
        {"key": "a\r\nb"},
        {"key": "a", "path": "/\nx"},
        {"key": "a", "path": "/;x"},
        {"key": "a", "domain": "e.com\r\n"},
        {"key": "a", "domain": "e.com; Secure"},
        {"key": "a", "expires": "soon\n"},
        {"key": "a", "samesite": "sometimes"},
        {"key": "a", "path": "/snow\u2603"},
        {"key": "a", "domain": "\u2603.example"},
    ],
)
def test_set_cookie_rejects_injection(kwargs: dict[str, Any]) -> None:
    response = Response()
    with pytest.raises(ValueError):
        response.set_cookie(**kwargs)
    assert "set-cookie" not in response.headers


def test_set_cookie_attribute_error_names_the_cookie_and_attribute() -> None:
    with pytest.raises(ValueError, match="cookie 'sid': the path"):
        Response().set_cookie("sid", path="/a;b")


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        # what http.cookies (and so Starlette) writes for each
        ("x\r\nSet-Cookie: y=1", '"x\\015\\012Set-Cookie: y=1"'),
        ("x;y", '"x\\073y"'),
        ("x\x00", '"x\\000"'),
        ("x\x7f", '"x\\177"'),
        ("caf\xe9", '"caf\\351"'),
        ('say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("a,b", '"a\\054b"'),
        ("token-only!#$%&'*+-.^_`|~:", "token-only!#$%&'*+-.^_`|~:"),
        # beyond latin-1 (http.cookies cannot send it): the octal escapes of UTF-8
        ("snow \u2603", '"snow \\342\\230\\203"'),
        ("\ud800", '"\\355\\240\\200"'),
    ],
)
def test_set_cookie_quotes_any_value(value: str, sent: str) -> None:
    response = Response()
    response.set_cookie("a", value)
    assert response.headers["set-cookie"] == f"a={sent}; Path=/; SameSite=lax"


def test_samesite_is_case_insensitive() -> None:
    response = Response()
    response.set_cookie("a", samesite="None", secure=True)  # type: ignore[arg-type]
    assert response.headers["set-cookie"] == 'a=""; Path=/; SameSite=None; Secure'


def test_delete_cookie() -> None:
    response = Response()
    response.delete_cookie("a", path="/p", domain="e.com", secure=True, httponly=True)
    value = response.headers["set-cookie"]
    assert value.startswith('a=""; Domain=e.com; expires=')
    assert value.endswith(" GMT; HttpOnly; Max-Age=0; Path=/p; SameSite=lax; Secure")


@pytest.mark.parametrize(
    "response",
    [Response(), HTMLResponse(), PlainTextResponse(), JSONResponse(None), RedirectResponse("/")],
)
def test_delete_cookie_partitioned(response: Response) -> None:
    response.delete_cookie("a", secure=True, samesite="none", partitioned=True)
    value = response.headers["set-cookie"]
    assert "; Max-Age=0; Partitioned; Path=/; SameSite=none; Secure" in value


# ---- sending --------------------------------------------------------------------


async def test_sends_start_and_body() -> None:
    result = await run(PlainTextResponse("hi", status_code=201, headers={"x-a": "1"}))
    assert result.messages == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"x-a", b"1"),
                (b"content-length", b"2"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        },
        {"type": "http.response.body", "body": b"hi"},
    ]


async def test_head_sends_headers_without_body() -> None:
    result = await run(PlainTextResponse("hello"), method="HEAD")
    assert result.header("content-length") == "5"
    assert result.body == b""


async def test_background_runs_after_body() -> None:
    events: list[str] = []
    result_messages: list[str] = []

    async def task(name: str) -> None:
        events.append(f"{name} after {len(result_messages)} messages")

    response = Response(b"x", background=BackgroundTask(task, "bg"))

    async def send(message: Any) -> None:
        result_messages.append(message["type"])

    await response(make_scope(), queue_receive([]), send)
    assert events == ["bg after 2 messages"]


async def test_websocket_denial_response() -> None:
    denial = PlainTextResponse("no", status_code=403)
    messages = await call(denial, make_scope(type="websocket"), queue_receive([]))
    assert [m["type"] for m in messages] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert messages[1]["body"] == b"no"


async def test_send_oserror_is_quiet_and_background_still_runs() -> None:
    ran: list[bool] = []

    async def send(message: Any) -> None:
        raise OSError("connection closed")

    response = Response(b"x", background=BackgroundTask(ran.append, True))
    await response(make_scope(), queue_receive([]), send)
    assert ran == [True]


async def test_over_the_test_client() -> None:
    reply = await AsyncTestClient(JSONResponse({"ok": True})).get("/")
    assert reply.status_code == 200
    assert reply.json() == {"ok": True}
    assert reply.headers["content-length"] == "11"

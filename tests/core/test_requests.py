import dataclasses
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from asgi_driver import make_scope as driver_scope

from asgi_core.datastructures import URL, Address, FormData, State, UploadFile, URLPath
from asgi_core.exceptions import HTTPException
from asgi_core.formparsers import MultiPartException
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import (
    SERVER_PUSH_HEADERS_TO_COPY,
    ClientDisconnect,
    HTTPConnection,
    Request,
    StateT,
    cookie_parser,
    empty_receive,
    empty_send,
)
from asgi_core.types import Message, Scope

pytestmark = pytest.mark.anyio


def make_scope(
    headers: Sequence[tuple[str, str]] = (),
    *,
    method: str = "POST",
    path: str = "/path",
    limits: RequestLimits | None = None,
    **extra: Any,
) -> Scope:
    """The shared driver's scope, for a POST to /path on example.org from no known client."""
    if limits is not None:
        extra[LIMITS_KEY] = limits
    extra.setdefault("client", None)
    return driver_scope(method, path, headers, server=("example.org", 80), **extra)


class Receiver:
    """A receive callable feeding body chunks, then (optionally) a disconnect."""

    def __init__(self, chunks: Sequence[bytes], *, disconnect: bool = True) -> None:
        self.messages: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        self.disconnect = disconnect
        self.calls = 0

    async def __call__(self) -> Message:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        if self.disconnect:
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover


def make_request(
    chunks: Sequence[bytes] = (b"",),
    headers: Sequence[tuple[str, str]] = (),
    **kwargs: Any,
) -> Request:
    return Request(make_scope(headers, **kwargs), Receiver(chunks))


# Inside an application (scope["app"] set), form errors are HTTPExceptions.
IN_APP = object()


# --- HTTPConnection -----------------------------------------------------------------------


def test_connection_is_a_mapping_over_the_scope() -> None:
    scope = make_scope()
    conn = HTTPConnection(scope)
    assert conn["path"] == "/path"
    assert set(conn) == set(scope)
    assert len(conn) == len(scope)
    assert conn.scope is scope


def test_connections_compare_by_identity() -> None:
    scope = make_scope()
    first, second = HTTPConnection(scope), HTTPConnection(scope)
    assert first == first
    assert first != second
    assert len({first, second}) == 2


def test_connection_accepts_websocket_scope_only_besides_http() -> None:
    assert HTTPConnection({"type": "websocket"})["type"] == "websocket"
    with pytest.raises(ValueError, match="lifespan"):
        HTTPConnection({"type": "lifespan"})


async def test_request_on_a_scope_without_headers() -> None:
    # a minimal scope: no "headers" key is read as no headers, never a KeyError
    limits = RequestLimits(max_body_size=10)
    scope: Scope = {"type": "http", "method": "POST", "path": "/p", LIMITS_KEY: limits}
    request = Request(scope, Receiver([b"data"]))
    assert await request.body() == b"data"
    assert request.headers.raw == []
    assert request.cookies == {}
    assert request.url == "/p"


async def test_request_reads_content_length_from_a_tuple_of_headers() -> None:
    limits = RequestLimits(max_body_size=3)
    scope = make_scope(limits=limits)
    scope["headers"] = ((b"content-length", b"10"),)
    request = Request(scope, Receiver([b"0123456789"]))
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413


def test_url_and_base_url() -> None:
    scope = make_scope(
        [("host", "example.com")], path="/app/users/1", query_string=b"a=1", root_path="/app"
    )
    conn = HTTPConnection(scope)
    assert conn.url == URL("http://example.com/app/users/1?a=1")
    assert conn.url is conn.url  # cached
    assert conn.base_url == URL("http://example.com/app/")
    assert str(HTTPConnection(make_scope()).base_url) == "http://example.org/"
    slashed = make_scope(path="/app/x", root_path="/app/")
    assert str(HTTPConnection(slashed).base_url) == "http://example.org/app/"


def test_lazy_attributes_are_documented_on_the_class() -> None:
    # Read on the class (help(), documentation tools), a lazy attribute is its
    # descriptor, carrying the docstring; each instance computes its own value.
    assert "URL" in (HTTPConnection.url.__doc__ or "")
    assert "headers" in (Request.headers.__doc__ or "")
    first, second = HTTPConnection(make_scope()), HTTPConnection(make_scope(path="/other"))
    assert first.url.path == "/path"
    assert second.url.path == "/other"


def test_base_url_prefers_app_root_path() -> None:
    scope = make_scope(path="/a/b/c", root_path="/a/b/", app_root_path="/a")
    assert str(HTTPConnection(scope).base_url) == "http://example.org/a/"


def test_headers_query_params_and_path_params() -> None:
    conn = HTTPConnection(
        make_scope([("X-Thing", "1")], query_string=b"a=1&a=2&b=", path_params={"id": 3})
    )
    assert conn.headers["x-thing"] == "1"
    assert conn.query_params.getlist("a") == ["1", "2"]
    assert conn.query_params["b"] == ""
    assert conn.path_params == {"id": 3}
    bare = HTTPConnection({"type": "http", "headers": []})
    assert bare.path_params == {}
    assert len(bare.query_params) == 0


def test_cookies() -> None:
    assert HTTPConnection(make_scope()).cookies == {}
    conn = HTTPConnection(make_scope([("cookie", 'a=1; b="two words"'), ("cookie", "c=3")]))
    assert conn.cookies == {"a": "1", "b": "two words", "c": "3"}
    assert conn.cookies is conn.cookies


def test_hostile_cookie_headers_do_not_break() -> None:
    conn = HTTPConnection(make_scope([("cookie", "a=" + '"' + "\\" * 30_000 + '"')]))
    assert conn.cookies == {"a": "\\" * 15_000}
    conn = HTTPConnection(make_scope([("cookie", ";" * 50_000 + "x=1")]))
    assert conn.cookies == {"x": "1"}


def test_client() -> None:
    assert HTTPConnection(make_scope()).client is None
    client = HTTPConnection(make_scope(client=["10.0.0.1", 1234])).client
    assert client == Address("10.0.0.1", 1234)
    assert client is not None
    assert client.host == "10.0.0.1"
    assert client.port == 1234


def test_session_auth_user_need_their_middleware() -> None:
    conn = HTTPConnection(make_scope())
    with pytest.raises(AssertionError, match="SessionMiddleware must be installed"):
        _ = conn.session
    with pytest.raises(AssertionError, match="AuthenticationMiddleware must be installed"):
        _ = conn.auth
    with pytest.raises(AssertionError, match=r"AuthenticationMiddleware .* request\.user"):
        _ = conn.user
    conn = HTTPConnection(make_scope(session={"k": "v"}, auth="creds", user="alice"))
    assert conn.session == {"k": "v"}
    assert conn.auth == "creds"
    assert conn.user == "alice"


def test_state_is_created_in_the_scope() -> None:
    scope = make_scope()
    conn = HTTPConnection(scope)
    assert isinstance(conn.state, State)
    conn.state.value = 1
    assert scope["state"] == {"value": 1}
    shared = make_scope(state={"db": "x"})
    assert HTTPConnection(shared).state.db == "x"


def test_app() -> None:
    app = object()
    assert HTTPConnection(make_scope(app=app)).app is app


class FakeRouter:
    def url_path_for(self, name: str, /, **params: Any) -> URLPath:
        return URLPath(f"/{name}/{params['id']}")


def test_url_for() -> None:
    conn = HTTPConnection(
        make_scope([("host", "h.test")], router=FakeRouter(), root_path="/r", path="/r/x")
    )
    assert conn.url_for("user", id=5) == URL("http://h.test/r/user/5")


def test_url_for_without_router() -> None:
    with pytest.raises(RuntimeError, match="needs a router"):
        HTTPConnection(make_scope()).url_for("user")


# --- Request basics -----------------------------------------------------------------------


def test_request_needs_http_scope() -> None:
    with pytest.raises(ValueError, match="websocket"):
        Request({"type": "websocket"})


def test_method_and_receive() -> None:
    receiver = Receiver([b""])
    request = Request(make_scope(method="PUT"), receiver)
    assert request.method == "PUT"
    assert request.receive is receiver


async def test_empty_receive_and_send() -> None:
    with pytest.raises(RuntimeError, match="Receive channel"):
        await empty_receive()
    with pytest.raises(RuntimeError, match="Send channel"):
        await empty_send({"type": "http.response.start"})
    with pytest.raises(RuntimeError, match="Receive channel"):
        await Request(make_scope()).body()


# --- body, stream -------------------------------------------------------------------------


async def test_body_joins_chunks_and_is_cached() -> None:
    receiver = Receiver([b"he", b"", b"llo", b" world"])
    request = Request(make_scope(), receiver)
    assert await request.body() == b"hello world"
    calls = receiver.calls
    assert await request.body() == b"hello world"
    assert receiver.calls == calls


async def test_body_without_more_body_key() -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"once"}

    assert await Request(make_scope(), receive).body() == b"once"


async def test_body_skips_unknown_messages() -> None:
    messages: list[Message] = [
        {"type": "http.something"},
        {"type": "http.request", "body": b"ok", "more_body": False},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    assert await Request(make_scope(), receive).body() == b"ok"


async def test_stream_yields_chunks_then_empty() -> None:
    request = make_request([b"a", b"b", b""])
    assert [chunk async for chunk in request.stream()] == [b"a", b"b", b""]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        [chunk async for chunk in request.stream()]
    with pytest.raises(RuntimeError, match="Stream consumed"):
        await request.body()


async def test_stream_after_body_replays_it() -> None:
    request = make_request([b"a", b"b"])
    assert await request.body() == b"ab"
    assert [chunk async for chunk in request.stream()] == [b"ab", b""]
    assert [chunk async for chunk in request.stream()] == [b"ab", b""]


def scripted(messages: list[Message]) -> Any:
    async def receive() -> Message:
        return messages.pop(0)

    return receive


async def test_stream_skips_unknown_messages_and_empty_chunks() -> None:
    receive = scripted(
        [
            {"type": "http.request", "body": b"", "more_body": True},
            {"type": "http.something"},
            {"type": "http.request", "body": b"ok", "more_body": False},
        ]
    )
    request = Request(make_scope(), receive)
    assert [chunk async for chunk in request.stream()] == [b"ok", b""]


async def test_client_disconnect_while_streaming() -> None:
    receive = scripted(
        [{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}]
    )
    request = Request(make_scope(), receive)
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in request.stream():
            received.append(chunk)

    with pytest.raises(ClientDisconnect):
        await consume()
    assert received == [b"part"]
    assert await request.is_disconnected()


async def test_headers_given_as_a_tuple() -> None:
    scope = make_scope(limits=RequestLimits(max_buffered_size=3))
    scope["headers"] = ((b"content-length", b"10"), (b"content-type", b"application/json"))
    request = Request(scope, Receiver([b"[1]"]))
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413
    scope["headers"] = ((b"content-type", b"application/json"),)
    assert await Request(scope, Receiver([b"[1]"])).json() == [1]


async def test_client_disconnect_while_reading() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    request = Request(make_scope(), receive)
    with pytest.raises(ClientDisconnect):
        await request.body()
    assert await request.is_disconnected()


# --- limits -------------------------------------------------------------------------------


async def test_body_refuses_declared_length_over_buffer_limit_before_reading() -> None:
    receiver = Receiver([b"x" * 20])
    request = Request(
        make_scope([("content-length", "20")], limits=RequestLimits(max_buffered_size=10)),
        receiver,
    )
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413
    assert "10 bytes" in info.value.detail
    assert receiver.calls == 0


async def test_body_refuses_a_content_length_lie() -> None:
    receiver = Receiver([b"x" * 6, b"y" * 6, b"z" * 100])
    request = Request(
        make_scope([("content-length", "5")], limits=RequestLimits(max_buffered_size=10)),
        receiver,
    )
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413
    assert receiver.calls == 2  # stopped as soon as the count passed the limit


async def test_body_without_content_length_stops_at_the_limit() -> None:
    request = make_request([b"x" * 10, b"x"], limits=RequestLimits(max_buffered_size=10))
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413


async def test_body_exactly_at_the_limit() -> None:
    request = make_request(
        [b"x" * 5, b"x" * 5], [("content-length", "10")], limits=RequestLimits(max_buffered_size=10)
    )
    assert await request.body() == b"x" * 10


async def test_body_uses_the_smaller_max_body_size() -> None:
    request = make_request([b"x" * 8], limits=RequestLimits(max_body_size=5, max_buffered_size=100))
    with pytest.raises(HTTPException, match="5 bytes"):
        await request.body()


@pytest.mark.parametrize("value", ["abc", "-1", "", "1e3", "\u0661"])
async def test_invalid_content_length_is_ignored_and_bytes_counted(value: str) -> None:
    request = Request(
        make_scope(limits=RequestLimits(max_buffered_size=3)),
        Receiver([b"ok"]),
    )
    request.scope["headers"].append((b"content-length", value.encode("utf-8")))
    assert await request.body() == b"ok"


async def test_huge_content_length_is_refused() -> None:
    request = make_request([b"x"], [("content-length", "9" * 5000)])
    with pytest.raises(HTTPException) as info:
        await request.body()
    assert info.value.status_code == 413


async def test_stream_enforces_max_body_size_only() -> None:
    big = [b"x" * 1000] * 5
    request = make_request(big, limits=RequestLimits(max_buffered_size=10))
    assert len(b"".join([chunk async for chunk in request.stream()])) == 5000
    request = make_request(big, limits=RequestLimits(max_body_size=2500))
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in request.stream():
            received.append(chunk)

    with pytest.raises(HTTPException) as info:
        await consume()
    assert info.value.status_code == 413
    assert len(received) == 2
    request = make_request(
        big, [("content-length", "5000")], limits=RequestLimits(max_body_size=2500)
    )
    received.clear()
    with pytest.raises(HTTPException):
        await consume()
    assert received == []


async def test_limits_are_read_when_the_body_is_read() -> None:
    scope = make_scope()
    request = Request(scope, Receiver([b"abcdef"]))
    scope[LIMITS_KEY] = dataclasses.replace(RequestLimits(), max_body_size=3)
    with pytest.raises(HTTPException):
        await request.body()


# --- json ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "Application/JSON; charset=utf-8", "application/problem+json"],
)
async def test_json_accepted_content_types(content_type: str | None) -> None:
    headers = [] if content_type is None else [("content-type", content_type)]
    request = make_request([b'{"a": ', b"[1, 2]}"], headers)
    assert await request.json() == {"a": [1, 2]}
    assert await request.json() == {"a": [1, 2]}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "; charset=utf-8",
    ],
)
async def test_json_refuses_other_content_types(content_type: str) -> None:
    receiver = Receiver([b"{}"])
    request = Request(make_scope([("content-type", content_type)]), receiver)
    with pytest.raises(HTTPException) as info:
        await request.json()
    assert info.value.status_code == 415
    assert "application/json" in info.value.detail
    assert receiver.calls == 0


@pytest.mark.parametrize(
    ("chunks", "fragment"),
    [
        ([b""], "empty"),
        ([b"{", b'"a": }'], "not valid JSON"),
        ([b'"\xc3', b'\x28"'], "UTF-8"),
        ([b"[" * 65 + b"]" * 65], "nested too deeply"),
    ],
)
async def test_json_bad_bodies_are_400(chunks: list[bytes], fragment: str) -> None:
    request = make_request(chunks, [("content-type", "application/json")])
    with pytest.raises(HTTPException) as info:
        await request.json()
    assert info.value.status_code == 400
    assert fragment in info.value.detail


async def test_deep_json_is_refused_quickly() -> None:
    depth = 100_000
    body = b"[" * depth + b"]" * depth
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    request = make_request(chunks, [("content-type", "application/json")])
    with pytest.raises(HTTPException) as info:
        await request.json()
    assert info.value.status_code == 400


async def test_json_depth_follows_limits() -> None:
    request = make_request([b"[[[1]]]"], limits=RequestLimits(max_json_depth=2))
    with pytest.raises(HTTPException, match="at most 2 levels"):
        await request.json()
    request = make_request([b"[[1]]"], limits=RequestLimits(max_json_depth=2))
    assert await request.json() == [[1]]


async def test_json_body_over_buffer_limit_is_413() -> None:
    request = make_request([b"[" + b"1," * 20 + b"1]"], limits=RequestLimits(max_buffered_size=16))
    with pytest.raises(HTTPException) as info:
        await request.json()
    assert info.value.status_code == 413


# --- form ---------------------------------------------------------------------------------

MULTIPART = (
    b"--BOUNDARY\r\n"
    b'Content-Disposition: form-data; name="field"\r\n\r\n'
    b"value\r\n"
    b"--BOUNDARY\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"file content\r\n"
    b"--BOUNDARY--\r\n"
)
MULTIPART_TYPE = ("content-type", "multipart/form-data; boundary=BOUNDARY")


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_urlencoded_form() -> None:
    request = make_request(
        [b"a=1&b=hello+", b"world&a=2"], [("content-type", "application/x-www-form-urlencoded")]
    )
    form = await request.form()
    assert form.getlist("a") == ["1", "2"]
    assert form["b"] == "hello world"
    assert await request.form() is form


async def test_multipart_form_with_chunks_split_at_awkward_points() -> None:
    for size in (1, 3, 7, 64):
        request = make_request(split_every(MULTIPART, size), [MULTIPART_TYPE])
        form = await request.form()
        assert form["field"] == "value"
        upload = form["upload"]
        assert isinstance(upload, UploadFile)
        assert upload.filename == "a.txt"
        assert upload.content_type == "text/plain"
        assert await upload.read() == b"file content"
        await request.close()


async def test_form_as_context_manager_closes_files() -> None:
    request = make_request([MULTIPART], [MULTIPART_TYPE])
    async with request.form() as form:
        upload = form["upload"]
        assert isinstance(upload, UploadFile)
        assert not upload.file.closed
    assert upload.file.closed


async def test_form_with_other_content_type_is_empty() -> None:
    receiver = Receiver([b"{}"])
    request = Request(make_scope([("content-type", "application/json")]), receiver)
    assert await request.form() == FormData()
    assert receiver.calls == 0
    assert await make_request([b"a=1"]).form() == FormData()


async def test_close_without_form() -> None:
    request = make_request()
    await request.close()


async def test_form_arguments_override_limits() -> None:
    headers = [MULTIPART_TYPE]
    limits = RequestLimits(max_files=0, max_fields=0, max_part_size=1)
    form = await make_request([MULTIPART], headers, limits=limits, app=IN_APP).form(
        max_files=1, max_fields=1, max_part_size=100
    )
    assert form["field"] == "value"
    await form.close()
    for kwargs, fragment in [
        ({"max_files": 1, "max_fields": 1}, "too large"),
        ({"max_files": 1, "max_part_size": 100}, "Too many fields"),
        ({"max_fields": 1, "max_part_size": 100}, "Too many files"),
    ]:
        with pytest.raises(HTTPException, match=fragment):
            await make_request([MULTIPART], headers, limits=limits, app=IN_APP).form(**kwargs)


async def test_form_limits_from_scope() -> None:
    request = make_request(
        [MULTIPART], [MULTIPART_TYPE], limits=RequestLimits(max_files=0), app=IN_APP
    )
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 400
    assert "Maximum number of files is 0" in info.value.detail
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    request = make_request(
        [b"a=1&b=2"], [urlencoded], limits=RequestLimits(max_fields=1), app=IN_APP
    )
    with pytest.raises(HTTPException, match="Maximum number of fields is 1"):
        await request.form()
    request = make_request([b"a=1&b=2"], [urlencoded])
    assert len(await request.form(max_fields=2)) == 2


async def test_multipart_fields_are_buffered_within_limits() -> None:
    request = make_request(
        [MULTIPART], [MULTIPART_TYPE], limits=RequestLimits(max_buffered_size=4), app=IN_APP
    )
    with pytest.raises(HTTPException, match="together") as info:
        await request.form()
    assert info.value.status_code == 413


async def test_urlencoded_form_is_buffered_within_limits() -> None:
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    request = make_request(
        [b"a=" + b"x" * 10, b"x" * 10], [urlencoded], limits=RequestLimits(max_buffered_size=15)
    )
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 413


URLENCODED_BODIES = [
    (b"name=alice&age=30&city=Paris", [("name", "alice"), ("age", "30"), ("city", "Paris")]),
    (b"a+b=c+d&&a&=&==x&b=1=2", [("a b", "c d"), ("a", ""), ("", ""), ("", "=x"), ("b", "1=2")]),
    (b"a=1;b=2&%41=%42%zz%", [("a", "1;b=2"), ("A", "B%zz%")]),
    ("caf\u00e9=%E2%9C%93&x=\xff".encode("latin-1"), [("caf\ufffd", "\u2713"), ("x", "\ufffd")]),
    (b"", []),
]


@pytest.mark.parametrize(("body", "expected"), URLENCODED_BODIES)
@pytest.mark.parametrize("size", [0, 1, 2, 5])
async def test_urlencoded_form_in_one_message_or_many(
    body: bytes, expected: list[tuple[str, str]], size: int
) -> None:
    """The whole body in one message (the common case) or split into many: same form."""
    chunks = (split_every(body, size) if size else []) or [body]
    headers = [("content-type", "application/x-www-form-urlencoded")]
    form = await make_request(chunks, headers).form()
    assert form.multi_items() == expected
    assert dict(form) == dict(expected)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-www-form-urlencoded", "\u00e9"),
        ("Application/X-WWW-Form-URLEncoded", "\u00e9"),
        ("application/x-www-form-urlencoded ; charset=UTF-8", "\u00e9"),
        ("application/x-www-form-urlencoded; charset=latin-1", "\u00c3\u00a9"),
        ("application/x-www-form-urlencoded; charset=no-such-codec", "\u00e9"),
        ("application/x-www-form-urlencoded; charset=", "\u00e9"),
    ],
)
async def test_urlencoded_form_content_type_spellings(content_type: str, expected: str) -> None:
    for body in (b"e=%C3%A9&a=b", b"e=\xc3\xa9&a=b"):
        form = await make_request([body], [("content-type", content_type)]).form()
        assert form.multi_items() == [("e", expected), ("a", "b")]


async def test_urlencoded_form_after_body_parses_the_cached_body() -> None:
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    receiver = Receiver([b"a=1&", b"b=2"])
    request = Request(make_scope([urlencoded]), receiver)
    assert await request.body() == b"a=1&b=2"
    calls = receiver.calls
    assert (await request.form()).multi_items() == [("a", "1"), ("b", "2")]
    assert receiver.calls == calls


async def test_urlencoded_form_of_a_cached_body_over_a_later_limit() -> None:
    """A body read under one limit, its form parsed under a tighter one: 413 (outside an
    application, the parser's own exception)."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    for app in (None, IN_APP):
        extra = {} if app is None else {"app": app}
        request = make_request([b"a=12345"], [urlencoded], **extra)
        await request.body()
        request.scope[LIMITS_KEY] = RequestLimits(max_buffered_size=4)
        with pytest.raises((MultiPartException, HTTPException)) as info:
            await request.form()
        assert type(info.value) is (MultiPartException if app is None else HTTPException)
        assert info.value.status_code == 413
        assert "Form body is too large (limit: 4 bytes)" in str(info.value)


async def test_urlencoded_form_consumes_the_stream() -> None:
    """As in Starlette, the body is not kept: body() and stream() after form() fail."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    request = make_request([b"a=1"], [urlencoded])
    assert (await request.form())["a"] == "1"
    with pytest.raises(RuntimeError, match="Stream consumed"):
        await request.body()
    with pytest.raises(RuntimeError, match="Stream consumed"):
        async for _ in request.stream():
            pass  # pragma: no cover
    request = make_request([b"a=1"], [urlencoded])
    async for _ in request.stream():
        pass
    with pytest.raises(RuntimeError, match="Stream consumed"):
        await request.form()


async def test_urlencoded_form_reading_errors() -> None:
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    # A client that goes away part-way.
    receiver = scripted(
        [{"type": "http.request", "body": b"a=1", "more_body": True}, {"type": "http.disconnect"}]
    )
    request = Request(make_scope([urlencoded]), receiver)
    with pytest.raises(ClientDisconnect):
        await request.form()
    assert await request.is_disconnected()
    # A declared length over the limit: refused before a byte is read.
    receiver = Receiver([b"a=1"])
    headers = [urlencoded, ("content-length", " 20 ")]
    request = Request(make_scope(headers, limits=RequestLimits(max_buffered_size=10)), receiver)
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 413
    assert receiver.calls == 0
    # Messages that are not body are skipped; a message peeked by is_disconnected() kept.
    receiver = scripted(
        [
            {"type": "http.request", "body": b"a=1&", "more_body": True},
            {"type": "http.other"},
            {"type": "http.request", "body": b"b=2"},
        ]
    )
    request = Request(make_scope([urlencoded]), receiver)
    assert not await request.is_disconnected()
    assert (await request.form()).multi_items() == [("a", "1"), ("b", "2")]


async def test_urlencoded_form_reads_the_first_of_repeated_body_headers() -> None:
    """Content-Type and Content-Length are looked up together: the first of each counts."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    plain = ("content-type", "text/plain")
    assert (await make_request([b"a=1"], [urlencoded, plain]).form())["a"] == "1"
    assert await make_request([b"a=1"], [plain, urlencoded]).form() == FormData()
    limits = RequestLimits(max_buffered_size=10)
    small, large = ("content-length", "3"), ("content-length", "20")
    request = make_request([b"a=1"], [small, urlencoded, large], limits=limits)
    assert (await request.form())["a"] == "1"
    receiver = Receiver([b"a=1"])
    request = Request(make_scope([large, urlencoded, small], limits=limits), receiver)
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 413
    assert receiver.calls == 0


async def test_urlencoded_form_with_headers_not_in_a_list() -> None:
    scope = make_scope([("content-type", "application/x-www-form-urlencoded")])
    scope["headers"] = tuple(scope["headers"])
    assert (await Request(scope, Receiver([b"a=1"])).form())["a"] == "1"


async def test_urlencoded_form_limits_of_any_kind_in_the_scope() -> None:
    """Limits of a subclass count; anything else in their place means the defaults."""

    class Tight(RequestLimits):
        pass

    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    request = make_request([b"a=1&b=2"], [urlencoded], limits=Tight(max_fields=1), app=IN_APP)
    with pytest.raises(HTTPException, match="Maximum number of fields is 1"):
        await request.form()
    scope = make_scope([urlencoded])
    scope[LIMITS_KEY] = {"max_fields": 1}
    form = await Request(scope, Receiver([b"a=1&b=2"])).form()
    assert form.multi_items() == [("a", "1"), ("b", "2")]


@pytest.mark.parametrize(
    "limits",
    [RequestLimits(max_buffered_size=5), RequestLimits(max_body_size=5)],
)
async def test_urlencoded_form_in_one_message_over_the_limit(limits: RequestLimits) -> None:
    """A whole body in its first message (no Content-Length) is held to the smaller of
    max_buffered_size and max_body_size, like a body read in many messages."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    for chunks in ([b"a=1&b=2"], [b"a=1", b"&b=2"]):
        request = make_request(chunks, [urlencoded], limits=limits)
        with pytest.raises(HTTPException) as info:
            await request.form()
        assert info.value.status_code == 413
        assert info.value.detail == "Request body is too large (limit: 5 bytes)."
    request = make_request([b"a=1&b"], [urlencoded], limits=limits)
    assert (await request.form()).multi_items() == [("a", "1"), ("b", "")]


async def test_urlencoded_form_part_size_argument() -> None:
    """max_part_size given to form() bounds each name and value, on every parse path."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    for body in (b"a=12345", b"a=%31%32%33%34%35"):
        form = await make_request([body], [urlencoded]).form(max_part_size=len(body))
        assert form["a"] == "12345"
        with pytest.raises(MultiPartException) as info:
            await make_request([body], [urlencoded]).form(max_part_size=4)
        assert info.value.status_code == 413


async def test_urlencoded_form_first_message_not_a_body() -> None:
    """A first message that is not body, or a disconnect, is handled as any other."""
    urlencoded = ("content-type", "application/x-www-form-urlencoded")
    receive = scripted([{"type": "http.other"}, {"type": "http.request", "body": b"a=1"}])
    assert (await Request(make_scope([urlencoded]), receive).form())["a"] == "1"
    request = Request(make_scope([urlencoded]), scripted([{"type": "http.disconnect"}]))
    with pytest.raises(ClientDisconnect):
        await request.form()
    assert await request.is_disconnected()


async def test_multipart_enforces_max_body_size() -> None:
    request = make_request(
        split_every(MULTIPART, 16), [MULTIPART_TYPE], limits=RequestLimits(max_body_size=50)
    )
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 413


async def test_malformed_multipart_is_400() -> None:
    request = make_request([b"garbage"], [("content-type", "multipart/form-data")], app=IN_APP)
    with pytest.raises(HTTPException) as info:
        await request.form()
    assert info.value.status_code == 400
    assert "boundary" in info.value.detail


# --- is_disconnected, push ----------------------------------------------------------------


async def test_is_disconnected_when_receive_would_block() -> None:
    request = Request(make_scope(), Receiver([], disconnect=False))
    assert await request.is_disconnected() is False


async def test_is_disconnected_on_disconnect_message() -> None:
    receiver = Receiver([])
    request = Request(make_scope(), receiver)
    assert await request.is_disconnected() is True
    assert await request.is_disconnected() is True
    assert receiver.calls == 1


async def test_is_disconnected_keeps_a_body_message() -> None:
    receiver = Receiver([b"kept"])
    request = Request(make_scope(), receiver)
    assert await request.is_disconnected() is False
    assert await request.is_disconnected() is False  # message still pending: not re-read
    assert receiver.calls == 1
    assert await request.body() == b"kept"


async def test_is_disconnected_keeps_a_body_message_for_stream() -> None:
    receiver = Receiver([b"kept", b" too"])
    request = Request(make_scope(), receiver)
    assert await request.is_disconnected() is False
    assert [chunk async for chunk in request.stream()] == [b"kept", b" too", b""]
    assert receiver.calls == 2


async def test_send_push_promise() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [("accept", "text/html"), ("user-agent", "ua"), ("cookie", "secret=1")]
    request = Request(make_scope(headers, extensions={"http.response.push": {}}), send=send)
    await request.send_push_promise("/style.css")
    assert sent == [
        {
            "type": "http.response.push",
            "path": "/style.css",
            "headers": [(b"accept", b"text/html"), (b"user-agent", b"ua")],
        }
    ]
    without = Request(make_scope(headers), send=send)
    await without.send_push_promise("/style.css")
    assert len(sent) == 1


async def test_push_promise_copies_the_listed_headers_in_sorted_order() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    assert {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "user-agent",
    } == SERVER_PUSH_HEADERS_TO_COPY
    headers = [("user-agent", "ua"), ("accept-language", "fr"), ("accept", "text/html")]
    request = Request(make_scope(headers, extensions={"http.response.push": {}}), send=send)
    await request.send_push_promise("/a.css")
    assert [name for name, _ in sent[0]["headers"]] == [
        b"accept",
        b"accept-language",
        b"user-agent",
    ]


# --- send_early_hints ----------------------------------------------------------------------


async def test_send_early_hints_sends_the_links_through_the_extension() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = make_scope(extensions={"http.response.early_hint": {}})
    request = Request(scope, send=send)
    await request.send_early_hints("</style.css>; rel=preload; as=style")
    await request.send_early_hints("</a.js>; rel=preload; as=script", "</b.js>; rel=preload")
    assert sent == [
        {"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]},
        {
            "type": "http.response.early_hint",
            "links": [b"</a.js>; rel=preload; as=script", b"</b.js>; rel=preload"],
        },
    ]


async def test_send_early_hints_is_a_no_op_without_the_extension_or_a_send_channel() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)  # pragma: no cover - must not be called

    await Request(make_scope(), send=send).send_early_hints("</a.css>; rel=preload")
    await Request(make_scope(extensions={"http.response.push": {}}), send=send).send_early_hints(
        "</a.css>; rel=preload"
    )
    # The server offers the extension, but the request was built without `send`.
    await Request(make_scope(extensions={"http.response.early_hint": {}})).send_early_hints(
        "</a.css>; rel=preload"
    )
    assert sent == []


# --- typed state, cookie_parser --------------------------------------------------------------


def test_state_is_typed_by_the_connection_s_type_argument() -> None:
    assert StateT.__bound__ is not None
    assert StateT.__default__ is State  # type: ignore[attr-defined]
    assert Request[dict[str, Any]] is not Request
    assert HTTPConnection[State] is not HTTPConnection
    scope = make_scope()
    request: Request[State] = Request(scope)
    request.state["user"] = "ada"
    assert request.state.user == "ada"
    assert scope["state"] == {"user": "ada"}


def test_cookie_parser_is_public() -> None:
    assert cookie_parser('a=1; b="two"; junk; ; c=') == {"a": "1", "b": "two", "": "junk", "c": ""}

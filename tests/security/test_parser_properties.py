"""Property-based tests: arbitrary bytes fed to every parser that reads client input.

Each parser either returns a value or raises only its documented error (``ParseError``,
``MultiPartException``, ``HTTPException`` with a 4xx). The runs are deterministic
(``derandomize=True``, no example database).
"""

from __future__ import annotations

import json
import re
from contextlib import aclosing
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_core._parsers import (
    ParseError,
    is_json_media_type,
    json_depth,
    parse_content_type,
    parse_cookie,
    parse_json,
    parse_urlencoded,
    unquote_cookie_value,
)
from asgi_core.datastructures import URL, FormData, Headers, QueryParams
from asgi_core.exceptions import HTTPException
from asgi_core.formparsers import FormParser, MultiPartException, MultiPartParser
from asgi_core.requests import Request
from asgi_middleware._negotiation import parse_accept_encoding, select_encoding
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware, parse_forwarded
from asgi_middleware.sessions import SessionMiddleware
from asgi_middleware.trustedhost import TrustedHostMiddleware
from asgi_responses import PlainTextResponse
from asgi_responses._ranges import (
    evaluate_preconditions,
    if_range_matches,
    parse_http_date,
    parse_range,
)
from asgi_routing import Mount, Route, Router

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
ASYNC_FUZZ = settings(FUZZ, max_examples=100)
BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])

# Text as a server hands it over: header bytes decoded as latin-1, plus the
# characters that matter to these grammars, so short inputs hit the edge cases.
SPECIALS = ';,="\\ \t\r\n/?#@[]:%+&*-0123456789abcdefABCDEF{}\x00\x7f\xff'
header_text = st.text(alphabet=st.sampled_from(SPECIALS) | st.characters(max_codepoint=255))
header_bytes = header_text.map(lambda text: text.encode("latin-1"))
any_bytes = st.binary(max_size=512) | header_bytes


# --- asgi_core._parsers -----------------------------------------------------------------


@FUZZ
@given(header_text)
def test_cookie_parsing_never_raises(value: str) -> None:
    cookies = parse_cookie(value)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items())
    assert all(";" not in key for key in cookies)
    assert isinstance(unquote_cookie_value(value), str)


@FUZZ
@given(header_text)
def test_content_type_parsing_never_raises(value: str) -> None:
    media_type, params = parse_content_type(value)
    assert media_type == media_type.lower()
    assert ";" not in media_type
    assert all(name == name.lower() for name in params)
    assert isinstance(is_json_media_type(media_type), bool)


@FUZZ
@given(any_bytes, st.integers(min_value=0, max_value=70))
def test_json_parsing_raises_only_parse_error(body: bytes, max_depth: int) -> None:
    message = None
    try:
        value = parse_json(body, max_depth=max_depth)
    except ParseError as exc:
        message = str(exc)
    else:
        assert json.loads(body) == value
    assert message is None or message
    assert json_depth(body) >= 0


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('[]{}"\\ab,:')),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet=st.sampled_from('[]{}"\\ab')), children, max_size=3)
    ),
    max_leaves=20,
)


@FUZZ
@given(json_values)
def test_json_depth_is_exact_on_valid_documents(value: Any) -> None:
    body = json.dumps(value).encode()
    depth = _depth(value)
    assert json_depth(body) == depth
    assert parse_json(body, max_depth=depth) == value
    with pytest.raises(ParseError):
        parse_json(body, max_depth=depth - 1) if depth else parse_json(b"[", max_depth=0)


@FUZZ
@given(any_bytes, st.integers(min_value=0, max_value=50), st.sampled_from(["utf-8", "latin-1"]))
def test_urlencoded_parsing_raises_only_parse_error(
    body: bytes, max_fields: int, charset: str
) -> None:
    message = "Too many fields"
    try:
        items = parse_urlencoded(body, max_fields=max_fields, charset=charset)
    except ParseError as exc:
        message = str(exc)
    else:
        assert len(items) <= max_fields
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in items)
    assert "Too many fields" in message


# --- asgi_core.datastructures -----------------------------------------------------------


@FUZZ
@given(any_bytes)
def test_query_params_never_raise(query: bytes) -> None:
    params = QueryParams(query)
    assert QueryParams(str(params)).multi_items() == params.multi_items()
    QueryParams(query.decode("latin-1"))


@FUZZ
@given(st.lists(st.tuples(header_bytes, header_bytes), max_size=8), header_text)
def test_headers_never_raise(raw: list[tuple[bytes, bytes]], name: str) -> None:
    headers = Headers(raw=[(key.lower(), value) for key, value in raw])
    headers.get(name)
    headers.getlist(name)
    assert name in headers or headers.get(name) is None
    list(headers.items())


@FUZZ
@given(
    host=header_bytes,
    path=header_text,
    query=any_bytes,
    scheme=st.sampled_from(["http", "https", "ws", "wss"]),
    server=st.none()
    | st.tuples(st.sampled_from(["10.0.0.1", "::1", "srv"]), st.integers(0, 70000)),
)
def test_url_from_scope_never_moves_the_authority(
    host: bytes, path: str, query: bytes, scheme: str, server: Any
) -> None:
    """Whatever the Host header and target: the URL's path is the request's path and
    its host is the Host header only when that is a clean host[:port]."""
    scope = {
        "type": "http",
        "scheme": scheme,
        "path": "/" + path,
        "query_string": query,
        "headers": [(b"host", host)],
        "server": server,
    }
    url = URL(scope=scope)
    text = str(url)
    assert "\r" not in text
    assert "\n" not in text
    assert "#" not in text
    netloc = url.netloc
    assert "@" not in netloc
    assert "/" not in netloc
    assert "?" not in netloc
    if netloc:
        assert netloc in (host.decode("latin-1"),) or server is not None
    assert url.path.startswith("/")
    assert not url.fragment


# --- asgi_responses._ranges --------------------------------------------------------------


@FUZZ
@given(header_text, st.integers(min_value=0, max_value=10_000))
def test_range_parsing_returns_sorted_disjoint_ranges(header: str, size: int) -> None:
    ranges = parse_range("bytes=" + header if header[:1].isdigit() else header, size)
    if ranges is None:
        return
    previous_stop = -1
    for start, stop in ranges:
        assert 0 <= start < stop <= size
        assert start > previous_stop
        previous_stop = stop


@FUZZ
@given(header_text, header_text, header_text, st.sampled_from(["GET", "HEAD", "POST"]))
def test_conditional_headers_never_raise(value: str, other: str, etag: str, method: str) -> None:
    assert parse_http_date(value) is None or isinstance(parse_http_date(value), int)
    result = evaluate_preconditions(
        method,
        '"' + etag.replace('"', "") + '"',
        1_700_000_000,
        if_match=value or None,
        if_unmodified_since=other,
        if_none_match=other or None,
        if_modified_since=value,
    )
    assert result in (None, 304, 412)
    assert isinstance(if_range_matches(value, '"x"', 1_700_000_000), bool)


# --- asgi_middleware pure parsers ---------------------------------------------------------


@FUZZ
@given(header_text)
def test_accept_encoding_parsing_never_raises(value: str) -> None:
    prefs = parse_accept_encoding(value)
    assert all(0.0 <= q <= 1.0 for q in prefs.values())
    assert select_encoding(value, ["br", "gzip", "zstd"]) in (None, "br", "gzip", "zstd")


@FUZZ
@given(header_text)
def test_forwarded_parsing_never_raises(value: str) -> None:
    for element in parse_forwarded(value):
        assert all(name == name.lower() for name in element)


# --- ASGI layers fed arbitrary headers ------------------------------------------------------


async def _call(app: Any, scope: dict[str, Any], body: bytes = b"") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _scope(
    headers: list[tuple[bytes, bytes]], path: str = "/", method: str = "GET"
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("10.0.0.1", 5000),
    }


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


header_names = st.sampled_from(
    [
        b"host",
        b"origin",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"cookie",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"content-type",
    ]
)
header_lists = st.lists(st.tuples(header_names, header_bytes), max_size=6)


@BACKENDS
@ASYNC_FUZZ
@given(headers=header_lists)
def test_header_reading_middleware_never_raise(
    backend: str, headers: list[tuple[bytes, bytes]]
) -> None:
    apps = [
        ProxyHeadersMiddleware(_ok, trusted_hosts="*"),
        ProxyHeadersMiddleware(_ok, trusted_hosts=["10.0.0.0/8", "::1"]),
        TrustedHostMiddleware(_ok, allowed_hosts=["example.com", "*.example.org"]),
        CORSMiddleware(
            _ok, allow_origins=["https://a.example"], allow_methods=["*"], allow_headers=["*"]
        ),
        CORSMiddleware(_ok, allow_origin_regex=r"https://.*\.example", allow_credentials=True),
        SessionMiddleware(_ok, secret_key="secret"),
    ]

    async def main() -> None:
        for app in apps:
            for method in ("GET", "OPTIONS"):
                scope = _scope(list(headers), method=method)
                sent = await _call(app, scope)
                assert 200 <= sent[0]["status"] < 500
                added = [item for item in scope["headers"] if item not in headers]
                assert all(b"\r" not in value and b"\n" not in value for _, value in added)

    anyio.run(main, backend=backend)


BOUNDARY = b"fuzzb"


def _multipart_bodies() -> st.SearchStrategy[bytes]:
    piece = st.sampled_from(
        [
            b"--fuzzb\r\n",
            b"--fuzzb--\r\n",
            b'Content-Disposition: form-data; name="a"\r\n',
            b'Content-Disposition: form-data; name="f"; filename="x.txt"\r\n',
            b"Content-Disposition: form-data; name*=utf-8''x\r\n",
            b"Content-Type: text/plain; charset=latin-1\r\n",
            b"\r\n",
            b"value",
            b"\xff\xfe",
        ]
    )
    return st.lists(piece | st.binary(max_size=16), max_size=12).map(b"".join)


@BACKENDS
@ASYNC_FUZZ
@given(body=_multipart_bodies() | any_bytes, boundary=st.just(BOUNDARY) | header_bytes)
def test_multipart_parser_raises_only_multipart_exception(
    backend: str, body: bytes, boundary: bytes
) -> None:
    async def main() -> None:
        async def stream():
            for start in range(0, len(body), 7):
                yield body[start : start + 7]

        content_type = b"multipart/form-data; boundary=" + boundary
        status = None
        async with aclosing(stream()) as chunks:
            parser = MultiPartParser(
                Headers(raw=[(b"content-type", content_type)]),
                chunks,
                max_files=3,
                max_fields=3,
                max_part_size=64,
                spool_max_size=16,
            )
            try:
                form = await parser.parse()
            except MultiPartException as exc:
                status = exc.status_code
            else:
                assert isinstance(form, FormData)
                await form.close()
        assert status in (None, 400, 413)

        async def urlencoded():
            yield body

        status = None
        try:
            await FormParser(
                Headers(raw=[(b"content-type", content_type)]), urlencoded(), max_fields=5
            ).parse()
        except MultiPartException as exc:
            status = exc.status_code
        assert status in (None, 400, 413)

    anyio.run(main, backend=backend)


@BACKENDS
@ASYNC_FUZZ
@given(body=any_bytes, content_type=st.none() | header_bytes)
def test_request_json_raises_only_4xx(
    backend: str, body: bytes, content_type: bytes | None
) -> None:
    async def main() -> None:
        headers = [] if content_type is None else [(b"content-type", content_type)]
        scope = _scope(headers, method="POST")
        done = False

        async def receive() -> dict[str, Any]:
            nonlocal done
            if done:
                return {"type": "http.disconnect"}
            done = True
            return {"type": "http.request", "body": body}

        request = Request(scope, receive)
        status = None
        try:
            await request.json()
        except HTTPException as exc:
            status = exc.status_code
        assert status in (None, 400, 413, 415)

    anyio.run(main, backend=backend)


# --- route matching ------------------------------------------------------------------------


async def _endpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


ROUTER = Router(
    [
        Route("/", _endpoint),
        Route("/items/{id:int}", _endpoint),
        Route("/price/{value:float}", _endpoint),
        Route("/objects/{key:uuid}", _endpoint, methods=["GET", "POST"]),
        Route("/files/{rest:path}", _endpoint),
        Route("/users/{name}/posts/{post:int}", _endpoint),
        Mount("/sub", routes=[Route("/{x}", _endpoint)]),
    ]
)
path_text = st.text(
    alphabet=st.sampled_from("/%.0123456789abcdef-_:{}?#\\\x00 é")
    | st.characters(blacklist_categories=("Cs",))
)


@FUZZ
@given(path=path_text, method=st.sampled_from(["GET", "POST", "DELETE"]))
def test_route_matching_never_raises(path: str, method: str) -> None:
    scope = _scope([], path="/" + path, method=method)
    for route in ROUTER.routes:
        match, child = route.matches(dict(scope))
        assert isinstance(child, dict)
        assert match.name in ("NONE", "PARTIAL", "FULL")


@BACKENDS
@ASYNC_FUZZ
@given(path=path_text)
def test_router_answers_any_path_with_a_status(backend: str, path: str) -> None:
    async def main() -> None:
        status = None
        try:
            sent = await _call(ROUTER, _scope([(b"host", b"example.com")], path="/" + path))
        except HTTPException as exc:
            status = exc.status_code
        if status is not None:
            assert status in (404, 405)
            return
        assert sent[0]["status"] in (200, 307, 404, 405)
        for key, value in sent[0]["headers"]:
            if key == b"location":
                assert re.fullmatch(rb"[\x21-\x7e]+", value)

    anyio.run(main, backend=backend)

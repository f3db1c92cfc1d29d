"""CSRFMiddleware: Fetch Metadata, Origin and Referer checks, exempt paths, the signed
double-submit token (header, urlencoded and multipart fields, bounded body replay),
the Jinja2 globals, settings validation."""

from __future__ import annotations

import base64
import inspect
import re
import sys
from dataclasses import fields
from typing import Any

import itsdangerous
import jinja2
import pytest
from asgi_driver import Result, body_receive, call, make_scope, queue_receive
from asgi_driver import run as driver_run

from asgi_core.datastructures import Secret
from asgi_core.limits import LIMITS_KEY, RequestLimits
from asgi_core.requests import Request
from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware import Middleware
from asgi_middleware.csrf import (
    CSRF_SCOPE_KEY,
    DENIED_PREFIX,
    SAFE_METHODS,
    CSRFConfig,
    CSRFMiddleware,
    get_csrf_token,
    register_csrf_globals,
)
from asgi_responses.templating import Jinja2Templates
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio

SECRET = "csrf-secret"
HOST = [("host", "testserver")]


class Echo:
    """Answers 200 with the whole request body; records that it ran and the token."""

    def __init__(self, *, token: bool = False) -> None:
        self.calls = 0
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            self.calls += 1
            return
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = []
        if self.token:
            headers.append((b"x-token", get_csrf_token(scope).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def post(app: Any, headers: list[tuple[str, str]] | None = None, **kwargs: Any) -> Result:
    kwargs.setdefault("body", b"payload")
    return await run(app, "POST", "/submit", [*HOST, *(headers or [])], **kwargs)


async def run(app: Any, /, *args: Any, **kwargs: Any) -> Result:
    """The driver's run, with an empty body by default (the apps here read it)."""
    if kwargs.get("receive") is None:
        kwargs.setdefault("body", b"")
    return await driver_run(app, *args, **kwargs)


def refused(result: Result, reason: str, status: int = 403) -> bool:
    return result.status == status and result.text == DENIED_PREFIX + reason


# --- methods and scopes that are never checked ---------------------------------------


@pytest.mark.parametrize("method", sorted(SAFE_METHODS))
async def test_safe_methods_pass_whatever_the_headers(method: str) -> None:
    echo = Echo()
    headers = [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")]
    result = await run(CSRFMiddleware(echo), method, "/", headers, body=b"x")
    assert result.status == 200
    assert result.body == b"x"
    assert CSRF_SCOPE_KEY not in result.scope


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_other_scopes_pass(scope_type: str) -> None:
    echo = Echo()
    scope = make_scope(type=scope_type, headers=[("origin", "https://evil.example")])
    await call(CSRFMiddleware(echo), scope, queue_receive([]))
    assert echo.calls == 1


# --- Fetch Metadata -----------------------------------------------------------------


@pytest.mark.parametrize("site", ["same-origin", "none"])
async def test_sec_fetch_site_same_origin_and_none_pass(site: str) -> None:
    # Fetch Metadata wins: a stale or odd Origin does not matter then.
    headers = [("sec-fetch-site", site), ("origin", "https://elsewhere.example")]
    result = await post(CSRFMiddleware(Echo()), headers)
    assert result.status == 200
    assert result.body == b"payload"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
async def test_sec_fetch_site_cross_and_same_site_are_refused(site: str) -> None:
    echo = Echo()
    headers = [("sec-fetch-site", site), ("origin", "https://evil.example")]
    result = await post(CSRFMiddleware(echo), headers)
    assert refused(
        result,
        f"the browser sent this request from another site (Sec-Fetch-Site: {site}) "
        "and its Origin is not trusted",
    )
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert echo.calls == 0


async def test_cross_site_without_origin_is_refused() -> None:
    result = await post(CSRFMiddleware(Echo()), [("sec-fetch-site", "cross-site")])
    assert result.status == 403


async def test_same_site_allowed_by_setting() -> None:
    app = CSRFMiddleware(Echo(), allow_same_site=True)
    headers = [("sec-fetch-site", "same-site"), ("origin", "https://shop.example")]
    assert (await post(app, headers)).status == 200
    headers = [("sec-fetch-site", "cross-site"), ("origin", "https://shop.example")]
    assert (await post(app, headers)).status == 403


async def test_trusted_origins_pass_even_cross_site() -> None:
    app = CSRFMiddleware(
        Echo(),
        trusted_origins=["https://app.example:443"],
        trusted_origin_regex=r"https://[a-z]+\.preview\.example",
    )
    assert app.trusted_origins == frozenset({"https://app.example"})
    for site, origin, status in [
        ("cross-site", "https://APP.example", 200),
        ("same-site", "https://pr.preview.example", 200),
        ("cross-site", "https://pr.preview.example.evil", 403),
        ("cross-site", "not an origin", 403),
        ("cross-site", "null", 403),
    ]:
        headers = [("sec-fetch-site", site), ("origin", origin)]
        assert (await post(app, headers)).status == status, origin


async def test_the_own_origin_is_not_trusted_when_the_browser_says_cross_site() -> None:
    headers = [("sec-fetch-site", "cross-site"), ("origin", "http://testserver")]
    assert (await post(CSRFMiddleware(Echo()), headers)).status == 403


async def test_unknown_sec_fetch_site_falls_back_to_origin() -> None:
    app = CSRFMiddleware(Echo())
    same = [("sec-fetch-site", "future"), ("origin", "http://testserver")]
    other = [("sec-fetch-site", "future"), ("origin", "http://other.example")]
    assert (await post(app, same)).status == 200
    assert (await post(app, other)).status == 403


# --- Origin and Referer -------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "scheme", "status"),
    [
        ("http://testserver", "http", 200),
        ("HTTP://TestServer:80", "http", 200),
        ("https://testserver", "https", 200),
        ("https://testserver", "http", 403),
        ("http://testserver:8000", "http", 403),
        ("http://evil.example", "http", 403),
    ],
)
async def test_origin_must_be_the_request_origin(origin: str, scheme: str, status: int) -> None:
    result = await post(CSRFMiddleware(Echo()), [("origin", origin)], scheme=scheme)
    assert result.status == status
    if status == 403:
        assert result.text == (
            f"{DENIED_PREFIX}Origin {origin!r} is neither this site's origin nor a trusted one"
        )


async def test_origin_null_is_cross_site() -> None:
    result = await post(CSRFMiddleware(Echo()), [("origin", "null")])
    assert refused(result, "Origin: null (a sandboxed or cross-site page)")


async def test_several_or_malformed_origins_are_refused() -> None:
    app = CSRFMiddleware(Echo())
    two = [("origin", "http://testserver"), ("origin", "http://testserver")]
    assert refused(await post(app, two), "several Origin headers")
    assert (await post(app, [("origin", "http://user@testserver")])).status == 403


@pytest.mark.parametrize("host_headers", [[], [("host", "a"), ("host", "testserver")]])
async def test_missing_or_repeated_host_never_matches(host_headers: list[Any]) -> None:
    result = await run(
        CSRFMiddleware(Echo()), "POST", "/", [*host_headers, ("origin", "http://testserver")]
    )
    assert result.status == 403


async def test_origin_from_a_trusted_list() -> None:
    app = CSRFMiddleware(Echo(), trusted_origins=["https://app.example"])
    assert (await post(app, [("origin", "https://app.example")])).status == 200
    assert (await post(app, [("origin", "https://app.example:8443")])).status == 403


@pytest.mark.parametrize(
    ("referer", "status"),
    [
        ("http://testserver/form?x=1#top", 200),
        ("http://testserver", 200),
        ("https://app.example/page", 200),
        ("http://evil.example/testserver", 403),
        ("/relative/path", 403),
        ("http://user@testserver/", 403),
    ],
)
async def test_referer_when_origin_is_absent(referer: str, status: int) -> None:
    app = CSRFMiddleware(Echo(), trusted_origins=["https://app.example"])
    result = await post(app, [("referer", referer)])
    assert result.status == status
    if status == 403:
        assert refused(result, "the Referer is neither on this site's origin nor a trusted one")


async def test_no_browser_headers_is_allowed_by_default_and_refused_on_request() -> None:
    assert (await post(CSRFMiddleware(Echo()))).status == 200
    result = await post(CSRFMiddleware(Echo(), require_origin=True))
    assert refused(result, "no Sec-Fetch-Site, Origin or Referer header (required)")


async def test_with_the_test_client() -> None:
    async with AsyncTestClient(CSRFMiddleware(Echo())) as client:
        ok = await client.post("/", content=b"hi", headers={"Origin": "http://testserver"})
        bad = await client.put("/", content=b"hi", headers={"Origin": "https://evil.example"})
        delete = await client.delete("/", headers={"Sec-Fetch-Site": "cross-site"})
    assert ok.text == "hi"
    assert bad.status_code == 403
    assert delete.status_code == 403


# --- exempt paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        ("/hooks/stripe", "", 200),
        ("/hooks/stripe/extra", "", 403),
        ("/hooks/", "", 403),
        ("/files/a/b/c", "", 200),
        ("/files/", "", 200),
        ("/exact", "", 200),
        ("/exactly", "", 403),
        ("/v2/items/42", "", 200),
        ("/v2/items/x", "", 403),
        ("/mounted/exact", "/mounted", 200),
        ("/mounted", "/mounted", 403),
        ("/exact", "/other", 200),
        ("/submit", "", 403),
    ],
)
async def test_exempt_paths(path: str, root_path: str, status: int) -> None:
    app = CSRFMiddleware(
        Echo(),
        exempt_paths=[
            "/hooks/{provider}",
            "/files/{rest:path}",
            "/exact",
            re.compile(r"/v2/items/\d+"),
        ],
    )
    result = await run(
        app, "POST", path, [*HOST, ("origin", "https://evil.example")], root_path=root_path
    )
    assert result.status == status


async def test_root_path_alone_is_the_root() -> None:
    app = CSRFMiddleware(Echo(), exempt_paths=["/"])
    result = await run(app, "POST", "/m", [("origin", "https://evil.example")], root_path="/m")
    assert result.status == 200


# --- settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trusted_origins": "https://a.example"}, "not one string"),
        ({"trusted_origins": ["*"]}, "would turn CSRF off"),
        ({"trusted_origins": ["https://a.example/"]}, "is not an origin"),
        ({"trusted_origin_regex": "("}, "missing"),
        ({"exempt_paths": ["hooks"]}, "must start with '/'"),
        ({"secret": ""}, "must not be empty"),
        ({"secret": Secret("")}, "must not be empty"),
        ({"cookie_name": "a b"}, "Invalid cookie_name"),
        ({"cookie_path": "x"}, "Invalid cookie_path"),
        ({"cookie_path": "/a;b"}, "Invalid cookie_path"),
        ({"cookie_domain": "a;b"}, "Invalid cookie_domain"),
        ({"cookie_same_site": "sometimes"}, "Invalid cookie_same_site"),
        ({"cookie_max_age": 0}, "cookie_max_age"),
        ({"cookie_name": "__Host-csrf"}, "__Host- cookie needs cookie_secure=True"),
        ({"cookie_name": "__Secure-csrf"}, "__Secure- cookie needs cookie_secure=True"),
        (
            {"cookie_name": "__Host-csrf", "cookie_secure": True, "cookie_path": "/a"},
            "needs cookie_path='/'",
        ),
        (
            {"cookie_name": "__Host-csrf", "cookie_secure": True, "cookie_domain": "a.example"},
            "no cookie_domain",
        ),
        ({"header_name": "X Token"}, "Invalid header_name"),
        ({"field_name": ""}, "field_name must not be empty"),
        ({"max_buffered_size": -1}, "max_buffered_size"),
    ],
)
def test_invalid_settings_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, re.error), match=re.escape(message)):
        CSRFMiddleware(Echo(), **kwargs)
    with pytest.raises((ValueError, re.error), match=re.escape(message)):
        CSRFConfig(**kwargs)


def test_valid_cookie_prefixes() -> None:
    CSRFConfig(cookie_name="__Host-csrf", cookie_secure=True, secret=SECRET)
    CSRFConfig(cookie_name="__Secure-csrf", cookie_secure=True, cookie_domain=".a.example")


def test_token_mode_needs_itsdangerous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "itsdangerous", None)
    CSRFMiddleware(Echo())  # the origin checks need nothing
    with pytest.raises(ImportError, match=re.escape("asgi-middleware[csrf]")):
        CSRFMiddleware(Echo(), secret=SECRET)
    with pytest.raises(ImportError, match=re.escape("asgi-middleware[csrf]")):
        CSRFConfig(secret=SECRET)


def test_config_and_middleware_take_the_same_settings() -> None:
    parameters = list(inspect.signature(CSRFMiddleware).parameters)
    assert parameters == ["app"] + [field.name for field in fields(CSRFConfig)]
    for name in parameters[1:]:
        default = inspect.signature(CSRFMiddleware).parameters[name].default
        assert default == CSRFConfig.__dataclass_fields__[name].default


def test_config_builds_the_middleware() -> None:
    config = CSRFConfig(
        trusted_origins=(o for o in ["https://a.example"]), exempt_paths=["/x"], secret=SECRET
    )
    assert config.trusted_origins == ("https://a.example",)
    declaration = config.middleware()
    assert isinstance(declaration, Middleware)
    built = declaration.build(Echo())
    assert isinstance(built, CSRFMiddleware)
    assert built.config == config
    assert CSRFConfig().max_buffered_size is None  # RequestLimits.max_buffered_size


# --- the token ----------------------------------------------------------------------


def signed_cookie(raw: bytes, secret: str = SECRET) -> str:
    signer = itsdangerous.Signer(secret, salt="asgi_middleware.csrf")
    return signer.sign(base64.urlsafe_b64encode(raw).rstrip(b"=")).decode()


async def issue(app: Any, **kwargs: Any) -> tuple[str, str]:
    """GET a page that renders a token: (the cookie pair, the token)."""
    result = await run(app, "GET", "/form", HOST, **kwargs)
    set_cookie = result.header("set-cookie")
    assert set_cookie is not None
    return set_cookie.split(";", 1)[0], str(result.header("x-token"))


def token_app(**kwargs: Any) -> CSRFMiddleware:
    return CSRFMiddleware(Echo(token=True), secret=SECRET, **kwargs)


async def test_a_page_that_renders_the_token_gets_the_cookie() -> None:
    app = token_app()
    result = await run(app, "GET", "/form", HOST)
    set_cookie = result.header("set-cookie")
    assert set_cookie is not None
    assert re.fullmatch(r"csrftoken=[\w-]+\.[\w-]+; Path=/; HttpOnly; SameSite=lax", set_cookie)
    assert result.header("vary") == "Cookie"
    token = result.header("x-token")
    assert token is not None
    assert len(token) == 86
    # the same cookie on the next page: no new cookie, a different (masked) token
    cookie = set_cookie.split(";", 1)[0]
    again = await run(app, "GET", "/form", [*HOST, ("cookie", f"other=1; {cookie}")])
    assert again.header("set-cookie") is None
    assert again.header("vary") == "Cookie"
    assert again.header("x-token") != token


async def test_a_page_without_a_token_gets_no_cookie() -> None:
    result = await run(CSRFMiddleware(Echo(), secret=Secret(SECRET)), "GET", "/", HOST)
    assert result.header("set-cookie") is None
    assert result.header("vary") is None
    assert CSRF_SCOPE_KEY in result.scope


async def test_cookie_attributes() -> None:
    app = token_app(
        cookie_name="__Host-csrf",
        cookie_secure=True,
        cookie_same_site="strict",
        cookie_max_age=3600,
    )
    set_cookie = (await run(app, "GET", "/", HOST)).header("set-cookie")
    assert set_cookie is not None
    assert set_cookie.endswith("; Path=/; HttpOnly; SameSite=strict; Max-Age=3600; Secure")
    app = token_app(cookie_domain="example.com", cookie_path="/app")
    set_cookie = (await run(app, "GET", "/", HOST, scheme="https")).header("set-cookie")
    assert set_cookie is not None
    assert set_cookie.endswith("; Path=/app; HttpOnly; SameSite=lax; Domain=example.com; Secure")
    app = token_app(cookie_secure=False)
    set_cookie = (await run(app, "GET", "/", HOST, scheme="https")).header("set-cookie")
    assert set_cookie is not None
    assert "Secure" not in set_cookie


async def test_token_in_the_header() -> None:
    app = token_app()
    cookie, token = await issue(app)
    result = await post(app, [("cookie", cookie), ("x-csrf-token", token)])
    assert result.status == 200
    assert result.body == b"payload"
    # a valid POST renders forms with the same cookie: none is set again
    assert result.header("set-cookie") is None
    assert len(str(result.header("x-token"))) == 86


async def test_custom_header_name() -> None:
    app = token_app(header_name="X-XSRF-TOKEN")
    cookie, token = await issue(app)
    assert (await post(app, [("cookie", cookie), ("x-xsrf-token", token)])).status == 200


@pytest.mark.parametrize("cookie", [None, "csrftoken=", "csrftoken=forged.value", "other=x"])
async def test_missing_or_forged_cookie(cookie: str | None) -> None:
    reason = "the CSRF cookie 'csrftoken' is missing or invalid (load the page with the form again)"
    app = token_app()
    _, token = await issue(app)
    headers = [("x-csrf-token", token)]
    if cookie is not None:
        headers.append(("cookie", cookie))
    assert refused(await post(app, headers), reason)


async def test_cookie_signed_with_another_secret_or_of_the_wrong_size() -> None:
    app = token_app()
    _, token = await issue(app)
    for cookie in (signed_cookie(b"x" * 32, "other"), signed_cookie(b"short")):
        result = await post(app, [("cookie", f"csrftoken={cookie}"), ("x-csrf-token", token)])
        assert result.status == 403


async def test_token_from_another_cookie_does_not_match() -> None:
    app = token_app()
    cookie, _ = await issue(app)
    _, other_token = await issue(app)
    for token in (other_token, "junk", "A" * 86, "!" * 86):
        result = await post(app, [("cookie", cookie), ("x-csrf-token", token)])
        assert refused(result, "the CSRF token does not match the CSRF cookie"), token


async def test_no_token_anywhere() -> None:
    app = token_app()
    cookie, _ = await issue(app)
    result = await post(app, [("cookie", cookie), ("content-type", "application/json")])
    reason = "no CSRF token: send it in the X-CSRF-Token header or the 'csrf_token' form field"
    assert refused(result, reason)
    assert refused(await post(app, [("cookie", cookie)]), reason)


async def test_the_origin_check_comes_first_in_token_mode() -> None:
    app = token_app()
    cookie, token = await issue(app)
    headers = [("cookie", cookie), ("x-csrf-token", token), ("origin", "https://evil.example")]
    assert (await post(app, headers)).status == 403


async def test_exempt_path_skips_the_token_but_can_render_one() -> None:
    app = token_app(exempt_paths=["/submit"])
    result = await post(app)
    assert result.status == 200
    assert result.header("set-cookie") is not None


def urlencoded(*pairs: tuple[str, str]) -> bytes:
    return "&".join(f"{key}={value}" for key, value in pairs).encode()


FORM = [("content-type", "application/x-www-form-urlencoded")]


@pytest.mark.parametrize("position", ["first", "middle", "last", "encoded"])
async def test_urlencoded_field(position: str) -> None:
    app = token_app()
    cookie, token = await issue(app)
    key = "csrf%5Ftoken" if position == "encoded" else "csrf_token"
    pairs = [("a", "1"), ("b", "x+y%21")]
    index = {"first": 0, "middle": 1, "last": 2, "encoded": 2}[position]
    pairs.insert(index, (key, token))
    body = urlencoded(*pairs)
    result = await post(app, [("cookie", cookie), *FORM], body=body)
    assert result.status == 200
    assert result.body == body  # the app reads the whole body, untouched


async def test_urlencoded_field_one_byte_at_a_time() -> None:
    app = token_app()
    cookie, token = await issue(app)
    body = urlencoded(("a", "1" * 50), ("csrf_token", token), ("z", "2"))
    receive = body_receive(*(body[i : i + 1] for i in range(len(body))))
    result = await post(app, [("cookie", cookie), *FORM], body=None, receive=receive)
    assert result.status == 200
    assert result.body == body


async def test_urlencoded_without_the_field() -> None:
    app = token_app()
    cookie, _ = await issue(app)
    for body in (b"a=1&b=2", b"", b"a=1&"):
        result = await post(app, [("cookie", cookie), *FORM], body=body)
        assert result.status == 403
        assert "no CSRF token" in result.text


def multipart(boundary: str, *parts: tuple[str, str | None, str], epilogue: bool = True) -> bytes:
    chunks = []
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: text/plain\r\n\r\n{value}\r\n"
        )
    return ("".join(chunks) + (f"--{boundary}--\r\n" if epilogue else "")).encode()


def multipart_headers(cookie: str, content_type: str = "multipart/form-data; boundary=XyZ") -> Any:
    return [("cookie", cookie), ("content-type", content_type)]


@pytest.mark.parametrize("where", ["first", "after-file", "last"])
async def test_multipart_field(where: str) -> None:
    app = token_app()
    cookie, token = await issue(app)
    parts: list[tuple[str, str | None, str]] = [
        ("note", None, "hello"),
        ("files", "a.txt", "file body"),
    ]
    parts.insert({"first": 0, "after-file": 2, "last": 2}[where], ("csrf_token", None, token))
    if where == "last":
        parts.insert(2, ("more", None, "x" * 100))
    body = b"preamble\r\n" + multipart("XyZ", *parts)
    result = await post(app, multipart_headers(cookie), body=body)
    assert result.status == 200
    assert result.body == body


async def test_multipart_one_byte_at_a_time_with_a_quoted_boundary() -> None:
    app = token_app()
    cookie, token = await issue(app)
    body = multipart("a b", ("note", None, "n" * 40), ("csrf_token", None, token))
    receive = body_receive(*(body[i : i + 1] for i in range(len(body))))
    headers = multipart_headers(cookie, 'multipart/form-data; charset=utf-8; boundary="a b"')
    result = await post(app, headers, body=None, receive=receive)
    assert result.status == 200
    assert result.body == body


@pytest.mark.parametrize(
    "body",
    [
        multipart("XyZ", ("note", None, "x")),  # no token field
        multipart("XyZ", ("csrf_token", "t.txt", "x")),  # a file named like the field
        b"--XyZ\r\nX-Other: 1\r\n\r\nvalue\r\n--XyZ--\r\n",  # no Content-Disposition
        b"--XyZ\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\nunterminated",
        b"--XyZ\r\nContent-Disposition: form-data",  # headers never end
        b"no boundary at all",
        b"",
    ],
)
async def test_multipart_without_a_usable_field(body: bytes) -> None:
    app = token_app()
    cookie, _ = await issue(app)
    result = await post(app, multipart_headers(cookie), body=body)
    assert result.status == 403
    assert "no CSRF token" in result.text


async def test_multipart_epilogue_after_the_closing_boundary() -> None:
    app = token_app()
    cookie, _ = await issue(app)
    body = multipart("XyZ", ("note", None, "x"))
    receive = body_receive(body, b"epilogue")
    result = await post(app, multipart_headers(cookie), body=None, receive=receive)
    assert result.status == 403


async def test_multipart_unquoted_token_name_and_no_boundary_parameter() -> None:
    app = token_app()
    cookie, token = await issue(app)
    body = f"--XyZ\r\ncontent-disposition: form-data; NAME=csrf_token\r\n\r\n{token}\r\n--XyZ--"
    result = await post(app, multipart_headers(cookie), body=body.encode())
    assert result.status == 200
    result = await post(app, multipart_headers(cookie, "multipart/form-data"), body=b"x")
    assert result.status == 403


async def test_the_field_past_the_bound_is_413_and_memory_stays_bounded() -> None:
    app = token_app(max_buffered_size=1000)
    echo = app.app
    assert isinstance(echo, Echo)
    cookie, token = await issue(app)
    calls = echo.calls
    chunks = [b"a=" + b"x" * 600, b"&b=" + b"y" * 600, b"&csrf_token=" + token.encode()]
    result = await post(app, [("cookie", cookie), *FORM], body=None, receive=body_receive(*chunks))
    reason = (
        "the 'csrf_token' field is not in the first 1000 bytes of the form: "
        "put it first, or send the X-CSRF-Token header"
    )
    assert refused(result, reason, status=413)
    assert result.header("connection") == "close"
    assert echo.calls == calls


async def test_the_bound_defaults_to_the_request_limits() -> None:
    app = token_app()
    cookie, token = await issue(app)
    chunks = (b"a=" + b"x" * 600, b"&csrf_token=" + token.encode())
    limits = {LIMITS_KEY: RequestLimits(max_buffered_size=500)}
    result = await post(
        app, [("cookie", cookie), *FORM], body=None, receive=body_receive(*chunks), **limits
    )
    assert result.status == 413
    assert "not in the first 500 bytes" in result.text
    result = await post(app, [("cookie", cookie), *FORM], body=None, receive=body_receive(*chunks))
    assert result.status == 200


async def test_the_rest_of_a_large_body_streams_to_the_app() -> None:
    app = token_app(max_buffered_size=1000)
    cookie, token = await issue(app)
    head = multipart("XyZ", ("csrf_token", None, token), epilogue=False)
    rest = [b"--XyZ\r\nContent-Disposition: form-data; name=big\r\n\r\n", b"z" * 5000]
    tail = b"\r\n--XyZ--\r\n"
    receive = body_receive(head, *rest, tail)
    result = await post(app, multipart_headers(cookie), body=None, receive=receive)
    assert result.status == 200
    assert result.body == head + b"".join(rest) + tail


async def test_client_gone_while_the_form_is_read() -> None:
    app = token_app()
    echo = app.app
    assert isinstance(echo, Echo)
    cookie, _ = await issue(app)
    calls = echo.calls
    receive = queue_receive(
        [{"type": "http.request", "body": b"a=1", "more_body": True}, {"type": "http.disconnect"}]
    )
    result = await post(app, [("cookie", cookie), *FORM], body=None, receive=receive)
    assert result.messages == []
    assert echo.calls == calls


# --- helpers for templates ----------------------------------------------------------


async def test_get_csrf_token_without_a_token_mode_is_empty() -> None:
    scope = make_scope()
    assert get_csrf_token(scope) == ""
    assert get_csrf_token(Request(scope)) == ""


async def test_get_csrf_token_takes_a_request() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(get_csrf_token(Request(scope, receive)))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    result = await run(CSRFMiddleware(app, secret=SECRET), "GET", "/", HOST)
    assert len(seen[0]) == 86
    assert result.header("set-cookie") is not None


TEMPLATE = '<form>{{ csrf_input() }}</form><meta content="{{ csrf_token() }}">'


def templating_app(templates: Any) -> Any:
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        html = templates.get_template("page.html").render(request=request)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": html.encode()})

    return page


@pytest.mark.parametrize("kind", ["templates", "environment"])
async def test_jinja2_globals(kind: str) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": TEMPLATE}), autoescape=True)
    templates = Jinja2Templates(env=env)
    register_csrf_globals(templates if kind == "templates" else env)
    app = CSRFMiddleware(templating_app(templates), secret=SECRET, field_name="_csrf")
    result = await run(app, "GET", "/", HOST)
    match = re.fullmatch(
        r'<form><input type="hidden" name="_csrf" value="([\w-]{86})"></form>'
        r'<meta content="([\w-]{86})">',
        result.text,
    )
    assert match is not None
    assert match.group(1) != match.group(2)
    cookie = str(result.header("set-cookie")).split(";", 1)[0]
    body = f"_csrf={match.group(1)}".encode()
    assert (await post(app, [("cookie", cookie), *FORM], body=body)).status == 200


async def test_jinja2_globals_are_empty_in_origin_mode() -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": TEMPLATE}), autoescape=True)
    register_csrf_globals(env)
    result = await run(CSRFMiddleware(templating_app(env)), "GET", "/", HOST)
    assert result.text == '<form></form><meta content="">'


def test_jinja2_globals_need_jinja2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(ImportError, match=re.escape("asgi-responses[templates]")):
        register_csrf_globals(object())


async def test_other_messages_pass_the_cookie_wrapper() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        get_csrf_token(scope)
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await CSRFMiddleware(app, secret=SECRET)(make_scope(headers=HOST), body_receive(), send)
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert sent[0]["headers"][0] == (b"vary", b"Cookie")

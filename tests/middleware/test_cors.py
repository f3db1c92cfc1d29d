"""CORSMiddleware around raw ASGI apps: preflights, simple requests, Vary, wildcards."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from asgi_core.datastructures import MutableHeaders
from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.cors import (
    ALL_METHODS,
    PREFLIGHT_VARY,
    WILDCARD_CREDENTIALS_WARNING,
    CORSMiddleware,
)

pytestmark = pytest.mark.anyio


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"vary", b"Accept-Language")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


async def run(app: Any, method: str = "GET", headers: dict[str, str] | None = None) -> Message:
    scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, body = sent[0], sent[1]
    result: dict[str, Any] = {"status": start["status"], "body": body["body"]}
    names: dict[str, list[str]] = {}
    for key, value in start["headers"]:
        names.setdefault(key.decode().lower(), []).append(value.decode())
    result["headers"] = {k: ", ".join(v) for k, v in names.items()}
    return result


PREFLIGHT = {"Origin": "https://a.example", "Access-Control-Request-Method": "GET"}


async def test_preflight_allowed_origin() -> None:
    app = CORSMiddleware(
        endpoint,
        allow_origins=["https://a.example"],
        allow_methods=["GET", "post"],
        allow_headers=["X-Token"],
        max_age=30,
    )
    response = await run(
        app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Headers": "x-token, Content-Type"}
    )
    headers = response["headers"]
    assert response["status"] == 200
    assert response["body"] == b"OK"
    assert headers["access-control-allow-origin"] == "https://a.example"
    assert headers["access-control-allow-methods"] == "GET, POST"
    # configured names keep their casing, sorted with the safelisted ones
    assert headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Content-Language, Content-Type, X-Token"
    )
    assert headers["access-control-max-age"] == "30"
    assert headers["vary"] == PREFLIGHT_VARY
    assert "access-control-allow-credentials" not in headers


async def test_preflight_refusals_name_the_reason() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["https://a.example"])
    response = await run(
        app,
        "OPTIONS",
        {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "X-Evil",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response["status"] == 400
    assert response["body"] == b"Disallowed CORS origin, method, headers, private-network"
    assert "access-control-allow-origin" not in response["headers"]
    assert "access-control-allow-private-network" not in response["headers"]
    assert response["headers"]["vary"] == PREFLIGHT_VARY


async def test_preflight_refuses_only_bad_headers() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"])
    response = await run(app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Headers": "X-A"})
    assert response["status"] == 400
    assert response["body"] == b"Disallowed CORS headers"
    # a failed preflight varies too: another Origin or method may well succeed
    assert response["headers"]["vary"] == PREFLIGHT_VARY
    assert response["headers"]["access-control-allow-origin"] == "*"


async def test_wildcards_without_credentials() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    response = await run(
        app,
        "OPTIONS",
        {
            "Origin": "https://any.example",
            "Access-Control-Request-Method": "PURGE",
            "Access-Control-Request-Headers": "X-A, , x-B",
        },
    )
    headers = response["headers"]
    assert response["status"] == 200
    assert headers["access-control-allow-origin"] == "*"
    # "*" lists every method, and also allows one the list does not name
    assert headers["access-control-allow-methods"] == (
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY, PURGE"
    )
    assert headers["access-control-allow-headers"] == "X-A, , x-B"  # mirrored as sent
    assert headers["vary"] == PREFLIGHT_VARY
    listed = await run(app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Method": "QUERY"})
    assert listed["headers"]["access-control-allow-methods"] == ", ".join(ALL_METHODS)
    assert "QUERY" in ALL_METHODS


async def test_wildcard_headers_without_request_headers() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"], allow_headers=["*"])
    response = await run(app, "OPTIONS", PREFLIGHT)
    assert response["status"] == 200
    assert "access-control-allow-headers" not in response["headers"]


async def test_credentials_never_send_a_wildcard() -> None:
    app = CORSMiddleware(
        endpoint, allow_origins=["*"], allow_credentials=True, allow_private_network=True
    )
    response = await run(
        app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Private-Network": "true"}
    )
    headers = response["headers"]
    assert response["status"] == 200
    assert headers["access-control-allow-origin"] == "https://a.example"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-allow-private-network"] == "true"
    assert headers["vary"] == PREFLIGHT_VARY

    simple = await run(app, "GET", {"Origin": "https://b.example", "Cookie": "a=b"})
    headers = simple["headers"]
    assert headers["access-control-allow-origin"] == "https://b.example"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == "Accept-Language, Origin"


async def test_simple_request_allowed_origin() -> None:
    app = CORSMiddleware(
        endpoint, allow_origins=["https://a.example"], expose_headers=["X-Total", "X-Page"]
    )
    response = await run(app, "GET", {"Origin": "https://a.example"})
    headers = response["headers"]
    assert response["body"] == b"hello"
    assert headers["access-control-allow-origin"] == "https://a.example"
    assert headers["access-control-expose-headers"] == "X-Total, X-Page"
    assert headers["vary"] == "Accept-Language, Origin"


async def test_simple_request_replaces_app_cors_headers() -> None:
    async def app_with_cors(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"Access-Control-Allow-Origin", b"https://stale.example")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    app = CORSMiddleware(app_with_cors, allow_origins=["https://a.example"])
    response = await run(app, "GET", {"Origin": "https://a.example"})
    assert response["headers"]["access-control-allow-origin"] == "https://a.example"
    assert response["headers"]["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response["headers"]


async def test_simple_request_headers_follow_the_apps_in_order() -> None:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hi"})

    sent: list[Message] = []

    async def receive() -> Message:  # pragma: no cover - never called
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    app = CORSMiddleware(
        plain, allow_origins=["https://a.example"], allow_credentials=True, expose_headers=["X-A"]
    )
    origin = [(b"host", b"example.com"), (b"origin", b"https://a.example")]
    await app({"type": "http", "method": "GET", "path": "/", "headers": origin}, receive, send)
    assert sent[0]["headers"] == [
        (b"content-type", b"text/plain"),
        (b"content-length", b"2"),
        (b"access-control-allow-origin", b"https://a.example"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"X-A"),
        (b"vary", b"Origin"),
    ]
    assert sent[1] == {"type": "http.response.body", "body": b"hi"}

    async def no_headers(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    sent.clear()
    app = CORSMiddleware(no_headers, allow_origins=["*"])
    await app({"type": "http", "method": "GET", "path": "/", "headers": origin}, receive, send)
    assert sent[0]["headers"] == [(b"access-control-allow-origin", b"*"), (b"vary", b"Origin")]


async def test_simple_request_disallowed_origin_gets_only_vary() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["https://a.example"])
    response = await run(app, "GET", {"Origin": "https://evil.example"})
    assert response["status"] == 200
    assert "access-control-allow-origin" not in response["headers"]
    assert response["headers"]["vary"] == "Accept-Language, Origin"


async def test_request_without_origin() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["https://a.example"])
    response = await run(app, "GET")
    assert "access-control-allow-origin" not in response["headers"]
    assert response["headers"]["vary"] == "Accept-Language, Origin"
    # "*" without credentials: Origin is still appended, as on every simple response
    app = CORSMiddleware(endpoint, allow_origins=["*"])
    response = await run(app, "GET")
    assert response["headers"]["vary"] == "Accept-Language, Origin"
    response = await run(app, "GET", {"Origin": "null"})
    assert response["headers"]["access-control-allow-origin"] == "*"
    assert response["headers"]["vary"] == "Accept-Language, Origin"


async def test_origin_regex_must_match_fully() -> None:
    app = CORSMiddleware(endpoint, allow_origin_regex=r"https://.*\.example\.org")
    good = await run(app, "GET", {"Origin": "https://app.example.org"})
    assert good["headers"]["access-control-allow-origin"] == "https://app.example.org"
    for origin in ("https://app.example.org.evil.com", "xhttps://app.example.org", "null"):
        bad = await run(app, "GET", {"Origin": origin})
        assert "access-control-allow-origin" not in bad["headers"]


async def test_hostile_origin_values_are_not_allowed() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["https://a.example"])
    for origin in ("", "null", "https://a.example.evil", "https://a.example/", "\xff\xfe"):
        response = await run(app, "OPTIONS", {**PREFLIGHT, "Origin": origin})
        assert response["status"] == 400
        assert response["body"] == b"Disallowed CORS origin"


async def test_first_origin_header_wins_and_options_without_method_passes() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["https://a.example"])
    scope = {
        "type": "http",
        "method": "OPTIONS",
        "path": "/",
        "headers": [(b"origin", b"https://a.example"), (b"origin", b"https://evil.example")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[1]["body"] == b"hello"  # not a preflight: the app answered
    assert (b"access-control-allow-origin", b"https://a.example") in sent[0]["headers"]


async def test_private_network_not_requested_is_not_granted() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"], allow_private_network=True)
    response = await run(
        app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Private-Network": "false"}
    )
    assert response["status"] == 200
    assert "access-control-allow-private-network" not in response["headers"]


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        await send({"type": "lifespan.startup.complete"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = CORSMiddleware(app, allow_origins=["*"])
    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "websocket", "headers": [(b"origin", b"x")]}, receive, send)
    assert seen == ["lifespan", "websocket"]
    assert sent == [{"type": "lifespan.startup.complete"}] * 2


async def test_other_messages_pass_untouched() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    await CORSMiddleware(app, allow_origins=["https://a.example"])(scope, receive, send)
    assert sent[0]["headers"] == [(b"vary", b"Origin")]
    assert sent[0]["trailers"] is True
    assert sent[2] == {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}


def test_positional_parameters_follow_starlette() -> None:
    app = CORSMiddleware(endpoint, ["https://a.example"], ["GET"], ["X-A"], True, None, True)
    assert app.allow_private_network is True
    assert app.allow_credentials is True


def test_allowed_headers_keep_casing_and_are_listed_once() -> None:
    app = CORSMiddleware(endpoint, allow_headers=["x-lower", "X-Upper", "content-type", "*"])
    assert app.allow_all_headers is True
    plain = CORSMiddleware(endpoint, allow_headers=["x-lower", "X-Upper", " content-type "])
    assert plain.preflight_headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Content-Language, Content-Type, X-Upper, x-lower"
    )
    assert "x-upper" in plain.allow_headers
    assert "accept" in plain.allow_headers


class _Hooked(CORSMiddleware):
    """Overrides Starlette's hook: the middleware must route every response through it."""

    calls = 0

    async def send(self, message: Message, send: Send, request_headers: Any) -> None:
        type(self).calls += 1
        await super().send(message, send, request_headers)


SIMPLE_CASES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"allow_origins": ["https://a.example"]}, {"Origin": "https://a.example"}),
    ({"allow_origins": ["https://a.example"]}, {"Origin": "https://evil.example"}),
    ({"allow_origins": ["https://a.example"]}, {}),
    ({"allow_origins": ["*"]}, {"Origin": "https://a.example"}),
    ({"allow_origins": ["*"]}, {}),
    (
        {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-T"]},
        {"Origin": "https://a.example"},
    ),
    ({"allow_origin_regex": r"https://.*\.org"}, {"Origin": "https://b.org"}),
]


@pytest.mark.parametrize(("settings", "headers"), SIMPLE_CASES)
async def test_overridden_hooks_are_used_and_give_the_same_answers(
    settings: dict[str, Any], headers: dict[str, str]
) -> None:
    fast = await run(CORSMiddleware(endpoint, **settings), "GET", headers)
    before = _Hooked.calls
    hooked = await run(_Hooked(endpoint, **settings), "GET", headers)
    assert _Hooked.calls == before + 2  # the start and the body
    assert hooked == fast


async def test_preflight_response_can_be_overridden() -> None:
    class Teapot(CORSMiddleware):
        def preflight_response(self, request_headers: Any) -> Any:
            response = super().preflight_response(request_headers)
            response.headers["x-seen"] = request_headers["origin"]
            return response

    response = await run(Teapot(endpoint, allow_origins=["*"]), "OPTIONS", PREFLIGHT)
    assert response["headers"]["x-seen"] == "https://a.example"
    assert response["headers"]["access-control-allow-origin"] == "*"


async def test_allow_explicit_origin_sets_the_origin_and_vary() -> None:
    headers = MutableHeaders(raw=[(b"vary", b"Cookie")])
    CORSMiddleware.allow_explicit_origin(headers, "https://a.example")
    assert headers.raw == [
        (b"vary", b"Cookie, Origin"),
        (b"access-control-allow-origin", b"https://a.example"),
    ]


class _HookedPreflight(CORSMiddleware):
    def preflight_response(self, request_headers: Any) -> Any:
        return super().preflight_response(request_headers)


PREFLIGHT_CASES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"allow_origins": ["https://a.example"], "allow_headers": ["X-A"]}, PREFLIGHT),
    (
        {"allow_origins": ["*"], "allow_headers": ["*"], "allow_methods": ["*"]},
        {
            **PREFLIGHT,
            "Access-Control-Request-Method": "PURGE",
            "Access-Control-Request-Headers": "X",
        },
    ),
    (
        {"allow_origins": ["https://a.example"], "allow_private_network": False},
        {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-No, , Accept",
            "Access-Control-Request-Private-Network": "true",
        },
    ),
    (
        {"allow_origins": ["*"], "allow_credentials": True, "allow_private_network": True},
        {**PREFLIGHT, "Access-Control-Request-Private-Network": "TRUE"},
    ),
]


@pytest.mark.parametrize(("settings", "headers"), PREFLIGHT_CASES)
async def test_the_preflight_hook_and_the_fast_path_agree(
    settings: dict[str, Any], headers: dict[str, str]
) -> None:
    fast = await run(CORSMiddleware(endpoint, **settings), "OPTIONS", headers)
    hooked = await run(_HookedPreflight(endpoint, **settings), "OPTIONS", headers)
    assert hooked == fast


def test_wildcard_origin_with_credentials_warns_at_construction(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
        pass

    with caplog.at_level(logging.WARNING, logger="asgi_middleware.cors"):
        CORSMiddleware(app, allow_origins=["*"], allow_credentials=False)
        CORSMiddleware(app, allow_origins=["https://a.example"], allow_credentials=True)
        assert caplog.records == []
        CORSMiddleware(app, allow_origins=["*"], allow_credentials=True)
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("asgi_middleware.cors", logging.WARNING)
    assert record.getMessage() == WILDCARD_CREDENTIALS_WARNING


async def test_an_overridden_is_allowed_origin_decides() -> None:
    class OnlyB(CORSMiddleware):
        def is_allowed_origin(self, origin: str) -> bool:
            return origin == "https://b.example"

    app = OnlyB(endpoint, allow_origins=["https://a.example"])
    denied = await run(app, "GET", {"Origin": "https://a.example"})
    assert "access-control-allow-origin" not in denied["headers"]
    assert denied["headers"]["vary"] == "Accept-Language, Origin"
    allowed = await run(app, "GET", {"Origin": "https://b.example"})
    assert allowed["headers"]["access-control-allow-origin"] == "https://b.example"
    assert allowed["headers"]["vary"] == "Accept-Language, Origin"

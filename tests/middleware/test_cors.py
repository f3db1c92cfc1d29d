"""CORSMiddleware around raw ASGI apps: preflights, simple requests, Vary, wildcards."""

from __future__ import annotations

from typing import Any

import pytest

from asgi_core.types import Message, Receive, Scope, Send
from asgi_middleware.cors import CORSMiddleware

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
    assert headers["access-control-allow-headers"] == (
        "accept, accept-language, content-language, content-type, x-token"
    )
    assert headers["access-control-max-age"] == "30"
    assert headers["vary"] == "Origin"
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
    assert response["body"] == b"Disallowed CORS origin, method, headers, private network access"
    assert "access-control-allow-origin" not in response["headers"]
    assert response["headers"]["vary"] == "Origin"


async def test_preflight_refuses_only_bad_headers() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"])
    response = await run(app, "OPTIONS", {**PREFLIGHT, "Access-Control-Request-Headers": "X-A"})
    assert response["status"] == 400
    assert response["body"] == b"Disallowed CORS headers"
    assert "vary" not in response["headers"]


async def test_wildcards_without_credentials() -> None:
    app = CORSMiddleware(endpoint, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    response = await run(
        app,
        "OPTIONS",
        {
            "Origin": "https://any.example",
            "Access-Control-Request-Method": "PURGE",
            "Access-Control-Request-Headers": "X-A, , X-B",
        },
    )
    headers = response["headers"]
    assert response["status"] == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "PURGE"
    assert headers["access-control-allow-headers"] == "x-a, x-b"
    assert "vary" not in headers


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
    assert headers["vary"] == "Origin"

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
    # with "*" and no credentials the response never depends on Origin
    app = CORSMiddleware(endpoint, allow_origins=["*"])
    response = await run(app, "GET")
    assert response["headers"]["vary"] == "Accept-Language"
    response = await run(app, "GET", {"Origin": "null"})
    assert response["headers"]["access-control-allow-origin"] == "*"
    assert response["headers"]["vary"] == "Accept-Language"


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

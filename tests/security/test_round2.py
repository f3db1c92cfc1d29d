"""Issue #23, "Safe under hostile input, round 2": one regression test per attack that
got through, named after it. Each sends the attack's shape through the public API and
asserts the answer (status, close code, headers) and, where the attack is about
memory, a memory bound.
"""

from __future__ import annotations

import logging
import tracemalloc
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from asgi_app import App
from asgi_core.datastructures import UploadFile
from asgi_core.limits import RequestLimits
from asgi_core.requests import Request
from asgi_core.types import ASGIApp, Message
from asgi_core.websockets import WebSocket, WebSocketDisconnect
from asgi_middleware import Middleware
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.sessions import SessionMiddleware
from asgi_responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from asgi_routing import Route, WebSocketRoute

MiB = 1024 * 1024
BOUNDARY = "r0und2"


def client(app: ASGIApp, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


# --- 1. a thousand uploads just under the spool size, all in memory ------------------


async def many_uploads(count: int, size: int) -> AsyncIterator[bytes]:
    """A multipart body of ``count`` files of ``size`` bytes, made while it is sent."""
    for index in range(count):
        head = (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="f{index}"; filename="f{index}.bin"\r\n\r\n'
        )
        yield head.encode()
        for _ in range(size // (64 * 1024)):
            yield b"x" * (64 * 1024)
        yield b"x" * (size % (64 * 1024)) + b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def upload_app(limits: RequestLimits | None = None) -> tuple[App, list[dict[str, int]]]:
    seen: list[dict[str, int]] = []

    async def count(request: Request) -> Response:
        async with request.form() as form:
            uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
            in_memory = [u for u in uploads if not getattr(u.file, "_rolled", True)]
            seen.append(
                {
                    "files": len(uploads),
                    "bytes": sum(u.size or 0 for u in uploads),
                    "in_memory": sum(u.size or 0 for u in in_memory),
                    "peak": tracemalloc.get_traced_memory()[1],
                }
            )
        return PlainTextResponse("ok")

    return App(routes=[Route("/", count, methods=["POST"])], limits=limits), seen


@pytest.mark.anyio
async def test_thousand_uploads_under_the_spool_size_roll_to_disk_past_the_request_budget() -> None:
    """The attack: 1,000 files of just under 1 MiB, each below the per-file spool size,
    so all were kept in memory (about 1 GiB). Now the uploads of one request share a
    memory budget (``max_upload_memory``, 4 MiB): past it they roll over to disk.
    Scaled down to 16 files (16 MiB) so the test stays quick; the bound is the same."""
    app, seen = upload_app()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    tracemalloc.start()
    try:
        async with client(app) as http:
            response = await http.post("/", content=many_uploads(16, MiB - 1), headers=headers)
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    (result,) = seen
    assert result["files"] == 16
    assert result["bytes"] == 16 * (MiB - 1)
    assert result["in_memory"] <= RequestLimits().max_upload_memory == 4 * MiB
    assert result["peak"] < 8 * MiB  # 16 MiB were uploaded


@pytest.mark.anyio
async def test_uploads_past_the_request_disk_budget_get_413() -> None:
    app, _ = upload_app(RequestLimits(max_upload_memory=MiB, max_upload_disk=2 * MiB))
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with client(app) as http:
        response = await http.post("/", content=many_uploads(4, MiB), headers=headers)
        fits = await http.post("/", content=many_uploads(3, MiB - 1), headers=headers)
    assert response.status_code == 413
    assert "uploaded files are too large together" in response.text
    assert fits.status_code == 200
    assert RequestLimits().max_upload_disk == 1024 * MiB


# --- 2. session responses without Vary: Cookie ---------------------------------------


@pytest.mark.anyio
async def test_session_response_without_vary_cookie_poisons_shared_caches() -> None:
    """A shared cache may hand one user's session-dependent page to another unless the
    response says it varies on Cookie: every response that read or wrote the session."""

    async def read(request: Request) -> Response:
        return PlainTextResponse(str(request.session.get("user")))

    async def check(request: Request) -> Response:
        return PlainTextResponse("yes" if "user" in request.session else "no")

    async def write(request: Request) -> Response:
        request.session["user"] = "alice"
        return PlainTextResponse("ok")

    async def untouched(request: Request) -> Response:
        return PlainTextResponse("static")

    app = App(
        routes=[
            Route("/read", read),
            Route("/check", check),
            Route("/write", write),
            Route("/static", untouched),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="k")],
    )
    async with client(app) as http:
        written = await http.get("/write")
        assert "cookie" in written.headers["vary"].lower()
        for path in ("/read", "/check"):
            response = await http.get(path)
            assert "cookie" in response.headers["vary"].lower(), path
        assert "vary" not in (await http.get("/static")).headers


# --- 3. a client's ';' or CR/LF in a cookie value; CR/LF or non-latin-1 in a header ---


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["a;b", "a\r\nSet-Cookie: admin=1", "caf\xe9", 'q"\\'])
async def test_client_semicolon_or_crlf_in_cookie_value_is_quoted_not_500(value: str) -> None:
    """The app stores what the client sent in a cookie: the value is quoted exactly as
    ``http.cookies`` (and so Starlette) quotes it, and the answer is a 200."""

    async def remember(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("last", request.query_params["q"])
        return response

    app = App(routes=[Route("/", remember)])
    async with client(app) as http:
        response = await http.get("/", params={"q": value})
    assert response.status_code == 200
    expected: SimpleCookie = SimpleCookie()
    expected["last"] = value
    (set_cookie,) = response.headers.get_list("set-cookie")
    assert set_cookie.split("; ")[0] == expected.output(header="").strip()
    assert "admin" not in response.cookies
    assert SimpleCookie(set_cookie)["last"].value == value


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: admin=1", "a\nb", "snow \u2603"])
async def test_client_crlf_or_non_latin1_in_response_header_fails_where_set(value: str) -> None:
    """The app copies client text into a response header: the error says which header,
    at the line that set it (``Response(headers=...)``, ``headers[...] =``, ``append``),
    and nothing of it reaches the wire."""
    errors: list[str] = []

    async def echo(request: Request) -> Response:
        q = request.query_params["q"]
        for attempt in (
            lambda: Response("x", headers={"x-echo": q}),
            lambda: Response("x").headers.__setitem__("x-echo", q),
            lambda: Response("x").headers.append("x-echo", q),
        ):
            try:
                attempt()
            except ValueError as exc:
                errors.append(str(exc))
        return PlainTextResponse("refused", headers={"x-refused": str(len(errors))})

    app = App(routes=[Route("/", echo)])
    async with client(app) as http:
        response = await http.get("/", params={"q": value})
    assert response.status_code == 200
    assert response.headers["x-refused"] == "3"
    assert all("'x-echo'" in error for error in errors)
    assert "admin" not in response.cookies
    assert "x-echo" not in response.headers


# --- 4. WebSocket messages bounded only by the server ---------------------------------


async def websocket_session(app: ASGIApp, *incoming: Message, path: str = "/ws") -> list[Message]:
    queue = [
        {"type": "websocket.connect"},
        *incoming,
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return queue.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "websocket",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
    }
    await app(scope, receive, send)
    return sent


def echo_websocket_app(limits: RequestLimits | None = None) -> tuple[App, list[Any]]:
    got: list[Any] = []

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                got.append(len(await websocket.receive_bytes()))
        except WebSocketDisconnect as exc:
            got.append(exc.code)

    return App(routes=[WebSocketRoute("/ws", echo)], limits=limits), got


@pytest.mark.anyio
async def test_websocket_message_of_16_mib_is_closed_1009_message_too_big() -> None:
    """uvicorn accepts 16 MiB messages; the app now receives at most
    ``max_message_size`` (1 MiB by default) and closes with 1009 past it."""
    app, got = echo_websocket_app()
    sent = await websocket_session(
        app,
        {"type": "websocket.receive", "bytes": b"x" * MiB},
        {"type": "websocket.receive", "bytes": b"x" * (16 * MiB)},
    )
    assert got == [MiB, 1009]
    assert sent[-1] == {"type": "websocket.close", "code": 1009, "reason": "Message Too Big"}


@pytest.mark.anyio
async def test_websocket_message_limit_is_set_per_app_and_counts_utf8_bytes() -> None:
    got: list[Any] = []

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            got.append(text)

    app = App(routes=[WebSocketRoute("/ws", echo)], limits=RequestLimits(max_message_size=8))
    sent = await websocket_session(
        app,
        {"type": "websocket.receive", "text": "\u2603\u2603"},  # 6 bytes
        {"type": "websocket.receive", "text": "\u2603\u2603\u2603"},  # 9 bytes
    )
    assert got == ["\u2603\u2603"]
    assert sent[-1]["code"] == 1009


# --- 5. duplicate Host headers and megabytes of headers ------------------------------


def hello_app(**kwargs: Any) -> App:
    async def hello(request: Request) -> Response:
        return PlainTextResponse(str(request.url))

    return App(routes=[Route("/", hello)], **kwargs)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "hosts", [[b"good.example", b"evil.example"], [b"good.example", b"good.example"]]
)
async def test_two_host_headers_get_400(hosts: list[bytes]) -> None:
    """RFC 9112, section 3.2: a request with more than one Host field line gets 400,
    even when the lines are the same."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", host) for host in hosts],
        "server": ("testserver", 80),
    }
    await hello_app()(scope, receive, send)
    assert sent[0]["status"] == 400
    assert b"only one Host" in sent[1]["body"]


def test_two_host_headers_get_400_under_a_real_server(live_server: Any) -> None:
    server = live_server(hello_app())
    raw = b"GET / HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n"
    assert server.request(raw).status == 400


@pytest.mark.anyio
async def test_megabytes_of_request_headers_get_431() -> None:
    """httptools sets no header limit: App checks ``max_headers`` (100) and
    ``max_header_size`` (64 KiB) itself, in one pass over the list."""
    app = hello_app()
    async with client(app) as http:
        big = await http.get("/", headers={"x-big": "x" * (4 * MiB)})
        many = await http.get("/", headers=[(f"x-{i}", "1") for i in range(500)])
        normal = await http.get("/", headers={"cookie": "a=" + "b" * 8000})
    assert big.status_code == 431
    assert many.status_code == 431
    assert normal.status_code == 200
    relaxed = hello_app(limits=RequestLimits(max_headers=1000, max_header_size=8 * MiB))
    async with client(relaxed) as http:
        assert (await http.get("/", headers={"x-big": "x" * (4 * MiB)})).status_code == 200


# --- 6. cross-site WebSocket handshakes ------------------------------------------------


async def handshake(app: ASGIApp, origin: bytes) -> list[Message]:
    sent: list[Message] = []
    queue = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

    async def receive() -> Message:
        return queue.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "scheme": "wss",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [(b"host", b"app.example"), (b"origin", origin), (b"cookie", b"sid=1")],
        "server": ("10.0.0.1", 443),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    await app(scope, receive, send)
    return sent


def websocket_app(**kwargs: Any) -> App:
    async def hello(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    return App(routes=[WebSocketRoute("/ws", hello)], **kwargs)


@pytest.mark.anyio
async def test_cross_site_websocket_hijacking_is_refused_by_default() -> None:
    """A page on another site opens a WebSocket with the user's cookies: App refuses the
    handshake (403) without any middleware; its own origin is accepted."""
    refused = await handshake(websocket_app(), b"https://evil.example")
    assert refused[0]["type"] == "websocket.http.response.start"
    assert refused[0]["status"] == 403
    accepted = await handshake(websocket_app(), b"https://app.example")
    assert accepted[0]["type"] == "websocket.accept"


@pytest.mark.anyio
async def test_cross_site_websocket_origins_are_configured_on_the_app() -> None:
    listed = websocket_app(websocket_origins=["https://partner.example"])
    assert (await handshake(listed, b"https://partner.example"))[0]["type"] == "websocket.accept"
    assert (await handshake(listed, b"https://evil.example"))[0]["status"] == 403
    anyone = websocket_app(websocket_origins=["*"])
    assert (await handshake(anyone, b"https://evil.example"))[0]["type"] == "websocket.accept"


# --- 7. the client's Host header in url_for and redirects ------------------------------


@pytest.mark.anyio
async def test_forged_host_header_steers_url_for_unless_allowed_hosts_is_set() -> None:
    async def login(request: Request) -> Response:
        return RedirectResponse(str(request.url_for("home")))

    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    routes = [Route("/login", login), Route("/", home, name="home")]
    async with client(App(routes=routes)) as http:
        open_app = await http.get("/login", headers={"host": "evil.example"})
    assert open_app.headers["location"] == "http://evil.example/"  # the documented risk
    guarded = App(routes=routes, allowed_hosts=["app.example"])
    async with client(guarded) as http:
        forged = await http.get("/login", headers={"host": "evil.example"})
        real = await http.get("/login", headers={"host": "app.example"})
    assert forged.status_code == 400
    assert real.headers["location"] == "http://app.example/"


# --- 8. CORS wildcard with credentials ---------------------------------------------------


def test_cors_wildcard_origin_with_credentials_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``allow_origins=["*"]`` with credentials echoes any Origin with credentials
    allowed (as Starlette does): every site reads the user's responses. It still
    works that way, but says so in the log when the middleware is built."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    with caplog.at_level(logging.WARNING, logger="asgi_middleware.cors"):
        CORSMiddleware(inner, allow_origins=["*"], allow_credentials=True)
        CORSMiddleware(inner, allow_origins=["*"])
        CORSMiddleware(inner, allow_origins=["https://a.example"], allow_credentials=True)
    (record,) = caplog.records
    assert record.name == "asgi_middleware.cors"
    assert "allow_credentials=True" in record.getMessage()


@pytest.mark.anyio
async def test_cors_wildcard_origin_with_credentials_still_echoes_the_origin() -> None:
    app = CORSMiddleware(JSONResponse({"secret": 1}), allow_origins=["*"], allow_credentials=True)
    async with client(app) as http:
        response = await http.get("/", headers={"origin": "https://evil.example"})
    assert response.headers["access-control-allow-origin"] == "https://evil.example"
    assert response.headers["access-control-allow-credentials"] == "true"

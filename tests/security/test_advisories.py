"""One regression test per published advisory of Starlette and of python-multipart.

Each test is named by the advisory's GHSA id (and CVE id when there is one) and sends
the request shape of the published attack to an app built with this framework; it
asserts the status, the time bound and, where the attack is about memory, a bound on
the memory used. SECURITY.md lists every advisory with this framework's answer.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Any

import httpx
import pytest
from asgi_driver import BOUNDARY, MULTIPART, byte_stream, echo_form, form_part, multipart

from asgi_app import App
from asgi_core.limits import RequestLimits
from asgi_core.requests import HTTPConnection, Request
from asgi_core.types import ASGIApp, Receive, Scope, Send
from asgi_responses import FileResponse, JSONResponse, PlainTextResponse, Response
from asgi_responses.staticfiles import StaticFiles
from asgi_routing import Mount, Route
from asgi_routing.endpoints import HTTPEndpoint
from asgi_testkit import AsyncTestClient

MiB = 1024 * 1024
_LENGTH_HEADERS = (b"content-length", b"transfer-encoding")


def form_app() -> App:
    return App(routes=[Route("/", echo_form, methods=["POST"])])


# --- Starlette ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_GHSA_74m5_2c7w_9w3x_CVE_2023_30798_unlimited_multipart_parts(measure) -> None:
    """Too many multipart fields or files: 400 at the 1001st, in bounded time."""
    fields = multipart(*(form_part(f"f{i}", b"") for i in range(1001)))
    files = multipart(*(form_part(f"f{i}", b"", filename="a.txt") for i in range(1001)))
    async with AsyncTestClient(form_app()) as http:
        with measure(memory=False) as cost:
            too_many_fields = await http.post("/", content=fields, headers=MULTIPART)
            too_many_files = await http.post("/", content=files, headers=MULTIPART)
        at_limit = await http.post(
            "/",
            content=multipart(*(form_part(f"f{i}", b"") for i in range(1000))),
            headers=MULTIPART,
        )
    assert too_many_fields.status_code == 400
    assert "Too many fields" in too_many_fields.text
    assert too_many_files.status_code == 400
    assert "Too many files" in too_many_files.text
    assert at_limit.status_code == 200
    assert cost.seconds < 1


@pytest.mark.parametrize(
    "target",
    [
        b"/static/../static1.txt",
        b"/static/../static_disallow/",
        b"/static/../static_disallow/index.html",
        b"/static/%2e%2e/static1.txt",
        b"/static/..%2fstatic1.txt",
    ],
)
def test_GHSA_v5gw_mw7f_84px_CVE_2023_29159_staticfiles_sibling_traversal(
    tmp_path: Path, live_server, target: bytes
) -> None:
    """A sibling directory sharing the served directory's prefix is never served."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("public")
    (tmp_path / "static_disallow").mkdir()
    (tmp_path / "static_disallow" / "index.html").write_text("secret")
    (tmp_path / "static1.txt").write_text("secret")
    app = App(routes=[Mount("/static", StaticFiles(directory=tmp_path / "static", html=True))])
    server = live_server(app)
    attack = server.request(b"GET " + target + b" HTTP/1.1\r\nHost: example.com\r\n\r\n")
    control = server.request(b"GET /static/index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert attack.status == 404
    assert b"secret" not in attack.body
    assert control.status == 200
    assert control.body == b"public"


REDOS_PARAMETER = '!="' + "\\" * 10_000  # a backtracking regex never finishes on this


@pytest.mark.anyio
async def test_GHSA_93gm_qmq6_w238_CVE_2024_24762_content_type_redos(measure) -> None:
    """Starlette's (withdrawn, duplicate) advisory for the Content-Type ReDoS: the
    multipart variant. The header parameters are parsed in linear time."""
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}; {REDOS_PARAMETER}"}
    async with AsyncTestClient(form_app()) as http:
        with measure(memory=False) as cost:
            response = await http.post(
                "/", content=multipart(form_part("a", b"1")), headers=headers
            )
    assert response.status_code == 200
    assert response.json() == [["a", "1"]]
    assert cost.seconds < 1


@pytest.mark.anyio
async def test_GHSA_f96h_pmfr_66vw_CVE_2024_47874_unbounded_text_field(measure) -> None:
    """A huge multipart part without a filename: 413 at max_part_size (1 MiB), before
    the whole body is read, holding a bounded amount of memory."""
    consumed: list[int] = []
    head = b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="big"\r\n\r\n'

    async def body():
        yield head
        async for chunk in byte_stream(64 * MiB, counter=consumed):
            yield chunk

    async with AsyncTestClient(form_app()) as http:
        with measure() as cost:
            response = await http.post("/", content=body(), headers=MULTIPART)
    assert response.status_code == 413
    assert "too large" in response.text
    assert sum(consumed) < 4 * MiB
    assert cost.peak_bytes < 8 * MiB
    assert cost.seconds < 1


@pytest.mark.anyio
async def test_GHSA_2c2j_9gv5_cj73_CVE_2025_54121_rollover_blocks_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An upload larger than the spool size: the rollover to disk (file creation and a
    copy of the spooled bytes) never runs in the event loop thread."""
    rollover_threads: list[int] = []
    original = SpooledTemporaryFile.rollover

    def spy(self: SpooledTemporaryFile[bytes]) -> None:
        rollover_threads.append(threading.get_ident())
        original(self)

    monkeypatch.setattr(SpooledTemporaryFile, "rollover", spy)
    loop_thread = threading.get_ident()
    upload = form_part("file", b"x" * (3 * MiB), filename="big.bin")
    async with AsyncTestClient(form_app()) as http:
        response = await http.post("/", content=multipart(upload), headers=MULTIPART)
    assert response.status_code == 200
    assert response.json() == [["file", {"filename": "big.bin", "size": 3 * MiB}]]
    assert rollover_threads, "the upload should have rolled over to disk"
    assert loop_thread not in rollover_threads


@pytest.mark.anyio
async def test_GHSA_7f5h_v6xp_fcq8_CVE_2025_62727_range_header_quadratic(
    tmp_path: Path, measure
) -> None:
    """Thousands of small disjoint ranges: the header is ignored (200, whole file) in
    linear time; a long run of digits costs no big-integer work either."""
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(range(256)) * 400)  # 102,400 bytes

    async def serve(request: Request) -> Response:
        return FileResponse(path)

    # App refuses a header section this large (431, RequestLimits.max_header_size):
    # lift that first line of defence to reach the Range parser behind it.
    wide = RequestLimits(max_header_size=1024 * 1024)
    app = App(routes=[Route("/file", serve)], limits=wide)
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 100_000, 2))
    digits = "bytes=" + "1" * 50_000 + "-" + "2" * 50_000
    async with AsyncTestClient(app) as http:
        with measure(memory=False) as cost:
            response = await http.get("/file", headers={"range": many})
            digit_response = await http.get("/file", headers={"range": digits})
        few = await http.get("/file", headers={"range": "bytes=0-0,2-2,4-4"})
    assert response.status_code == 200
    assert len(response.content) == 102_400
    assert digit_response.status_code in (200, 416)
    assert few.status_code == 206
    assert cost.seconds < 1


class AdminGuard:
    """The advisory's shape: middleware guarding a path prefix with request.url.path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and HTTPConnection(scope).url.path.startswith("/admin"):
            await PlainTextResponse("Forbidden", 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    "host",
    [b"example.com/?", b"example.com/health?x=", b"example.com#", b"user@example.com/x"],
)
def test_GHSA_86qp_5c8j_p5mr_CVE_2026_48710_badhost(live_server, host: bytes) -> None:
    """A Host header carrying a path, query or fragment never changes request.url.path:
    path-based checks on request.url see the routed path."""

    async def potato(request: Request) -> Response:
        return PlainTextResponse(f"Secret potato {request.url}")

    app = AdminGuard(App(routes=[Route("/admin/potato", potato)]))
    server = live_server(app)
    response = server.request(b"GET /admin/potato HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert response.status == 403
    assert b"Secret" not in response.body


def test_GHSA_jp82_jpqv_5vv3_CVE_2026_54282_target_moves_authority(live_server) -> None:
    """A request target that does not start with '/' (``@evil.example/x``) never
    moves the URL's authority: hostname and netloc stay the Host header's."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        url = HTTPConnection(scope).url
        await JSONResponse({"hostname": url.hostname, "netloc": url.netloc, "path": url.path})(
            scope, receive, send
        )

    server = live_server(app)
    response = server.request(b"GET @evil.example/x HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert response.status == 200
    data = httpx.Response(200, content=response.body).json()
    assert data["hostname"] == "example.com"
    assert data["netloc"] == "example.com"
    assert data["path"].startswith("/")


@pytest.mark.anyio
async def test_GHSA_x746_7m8f_x49c_CVE_2026_48817_httpendpoint_getattr_dispatch() -> None:
    """A non-standard method named like a helper never reaches it: 405."""
    called: list[str] = []

    class Items(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("list")

        async def _do_delete(self, request: Request) -> Response:
            called.append("_do_delete")
            return PlainTextResponse("deleted everything")

    app = App(routes=[Route("/items", Items)])
    async with AsyncTestClient(app) as http:
        response = await http.request("_DO_DELETE", "/items")
        dunder = await http.request("__INIT__", "/items")
        normal = await http.get("/items")
    assert response.status_code == 405
    assert dunder.status_code == 405
    assert called == []
    assert normal.text == "list"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/static/%5C%5Cattacker.example%5Cshare%5Cx.txt",
        "/static/%5C%5C%3F%5CUNC%5Cattacker.example%5Cshare",
        "/static/C:%5CWindows%5Cwin.ini",
        "/static/%2F%2Fattacker.example/share/x.txt",
    ],
)
async def test_GHSA_wqp7_x3pw_xc5r_CVE_2026_48818_staticfiles_unc_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A UNC or drive path is refused (404) before any filesystem call sees it, so the
    Windows SMB credential leak cannot happen (checked here on any OS: the paths the
    filesystem is asked about all lie inside the served directory)."""
    (tmp_path / "x.txt").write_text("public")
    seen: list[str] = []
    realpath, stat = os.path.realpath, os.stat

    def spy_realpath(value: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(value))
        return realpath(value, *args, **kwargs)

    def spy_stat(value: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(value))
        return stat(value, *args, **kwargs)

    app = App(routes=[Mount("/static", StaticFiles(directory=tmp_path))])
    monkeypatch.setattr(os.path, "realpath", spy_realpath)
    monkeypatch.setattr(os, "stat", spy_stat)
    async with AsyncTestClient(app) as http:
        response = await http.get(path)
    assert response.status_code == 404
    # Every filesystem call saw a path inside the served directory, never a UNC path.
    assert all(value.startswith(str(tmp_path) + os.sep) for value in seen), seen


# --- python-multipart -------------------------------------------------------------------


@pytest.mark.anyio
async def test_GHSA_2jv5_9r88_3w3p_CVE_2024_24762_content_type_redos(measure) -> None:
    """The published shape: a urlencoded form whose Content-Type carries a parameter
    of 10,000 backslashes. Parsed in linear time; the form is read normally."""
    headers = {"content-type": f"application/x-www-form-urlencoded; {REDOS_PARAMETER}"}
    async with AsyncTestClient(form_app()) as http:
        with measure(memory=False) as cost:
            response = await http.post("/", content=b"a=1&b=2", headers=headers)
    assert response.status_code == 200
    assert response.json() == [["a", "1"], ["b", "2"]]
    assert cost.seconds < 1


@pytest.mark.anyio
async def test_GHSA_59g5_xgcq_4qw3_CVE_2024_53981_crlf_before_and_after_boundaries(
    measure,
) -> None:
    """Megabytes of CR/LF before the first boundary and junk after the last one:
    linear time, bounded memory, the form still parsed (or refused with a 4xx)."""
    body = multipart(
        form_part("a", b"1"), preamble=b"\r\n" * (2 * MiB), epilogue=b"\r\n-" * (MiB // 2)
    )
    async with AsyncTestClient(form_app()) as http:
        with measure() as cost:
            response = await http.post("/", content=body, headers=MULTIPART)
    assert response.status_code in (200, 400, 413)
    if response.status_code == 200:
        assert response.json() == [["a", "1"]]
    assert cost.seconds < 1
    assert cost.peak_bytes < 16 * MiB  # the 6 MiB request body itself is allocated here


@pytest.mark.anyio
async def test_GHSA_mj87_hwqh_73pj_CVE_2026_40347_large_preamble_epilogue(measure) -> None:
    """Streamed megabytes of preamble (CR/LF) and epilogue: linear time and memory that
    does not grow with the junk (the junk is never buffered)."""

    async def body():
        for _ in range(64):
            yield b"\r\n" * (32 * 1024)
        yield multipart(form_part("a", b"1"))
        for _ in range(64):
            yield b"epilogue" * (8 * 1024)

    async with AsyncTestClient(form_app()) as http:
        with measure() as cost:
            response = await http.post("/", content=body(), headers=MULTIPART)
    assert response.status_code in (200, 400, 413)
    assert cost.seconds < 1
    assert cost.peak_bytes < 2 * MiB


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        b"".join(b"X-Repeat: v\r\n" for _ in range(10_000)),
        b"X-Huge: " + b"v" * (4 * MiB) + b"\r\n",
        b"X-Unterminated: " + b"v" * 100,
    ],
    ids=["many-headers", "huge-header", "unterminated"],
)
async def test_GHSA_pp6c_gr5w_3c5g_CVE_2026_42561_unbounded_part_headers(
    measure, headers: bytes
) -> None:
    """Many part headers, one huge part header, or a header block that never ends:
    400 in bounded time and memory."""
    body = b"--" + BOUNDARY.encode() + b"\r\n" + headers
    if not headers.endswith(b"v" * 100):
        body += (
            b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n--'
            + BOUNDARY.encode()
            + b"--\r\n"
        )
    async with AsyncTestClient(form_app()) as http:
        with measure() as cost:
            response = await http.post("/", content=body, headers=MULTIPART)
    assert response.status_code == 400
    assert cost.seconds < 1
    assert cost.peak_bytes < 16 * MiB  # includes the request body


@pytest.mark.anyio
async def test_GHSA_vffw_93wf_4j4q_extended_parameters_never_override() -> None:
    """``name*=`` / ``filename*=`` (and ``filename*0=`` continuations) never replace
    the plain ``name`` / ``filename`` an upstream inspector saw (RFC 7578 4.2)."""
    body = multipart(
        b"Content-Disposition: form-data; name=\"comment\"; name*=utf-8''role\r\n\r\nhi\r\n",
        b'Content-Disposition: form-data; name="upload"; filename="safe.txt"; '
        b"filename*=utf-8''evil.php\r\n\r\ndata\r\n",
        b'Content-Disposition: form-data; name="other"; filename="ok.txt"; '
        b'filename*0="evil"; filename*1=".php"\r\n\r\ndata\r\n',
        b"Content-Disposition: form-data; name*=utf-8''only-extended; name=\"plain\"\r\n\r\nx\r\n",
    )
    async with AsyncTestClient(form_app()) as http:
        response = await http.post("/", content=body, headers=MULTIPART)
    assert response.status_code == 200
    assert response.json() == [
        ["comment", "hi"],
        ["upload", {"filename": "safe.txt", "size": 4}],
        ["other", {"filename": "ok.txt", "size": 4}],
        ["plain", "x"],
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("content_length", [b"-1", b"-99999999999", b"+5", b"1e9", b" -1 "])
async def test_GHSA_v9pg_7xvm_68hf_CVE_2026_53540_negative_content_length(
    content_length: bytes,
) -> None:
    """A negative or junk Content-Length never lifts the bounds: the body is read in
    chunks and still held to max_buffered_size (413) / parsed normally."""
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        async for chunk in byte_stream(8 * MiB, counter=sent):
            yield b"a=" + chunk

    async def receive_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            kept = [item for item in scope["headers"] if item[0] not in _LENGTH_HEADERS]
            scope["headers"] = [*kept, (b"content-length", content_length)]
        await form_app()(scope, receive, send)

    headers = {"content-type": "application/x-www-form-urlencoded"}
    async with AsyncTestClient(receive_app) as http:
        big = await http.post("/", content=body(), headers=headers)
        small = await http.post("/", content=b"a=1", headers=headers)
    assert big.status_code == 413
    assert sum(sent) < 4 * MiB
    assert small.status_code == 200
    assert small.json() == [["a", "1"]]


@pytest.mark.anyio
@pytest.mark.parametrize("filename", ["../../pwned.txt", "ABSOLUTE", "..\\..\\pwned.txt"])
async def test_CVE_2026_24486_upload_filename_path_traversal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filename: str
) -> None:
    """An upload's file name never chooses where its bytes are written: uploads are
    spooled to anonymous temporary files, whatever the name (even one larger than
    the spool, so it reaches the disk)."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    target = tmp_path / "pwned.txt"
    if filename == "ABSOLUTE":
        filename = str(target)
    upload = form_part("file", b"owned" * (MiB // 2), filename=filename)
    async with AsyncTestClient(form_app()) as http:
        response = await http.post("/", content=multipart(upload), headers=MULTIPART)
    assert response.status_code == 200
    assert not target.exists()
    assert not (tmp_path / "a" / "pwned.txt").exists()

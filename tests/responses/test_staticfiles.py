from __future__ import annotations

import contextvars
import errno
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import make_scope, queue_receive, recorder, run, run_websocket

from asgi_core.datastructures import Headers
from asgi_core.exceptions import HTTPException
from asgi_responses import FileResponse, Response
from asgi_responses.staticfiles import NotModifiedResponse, StaticFiles
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp/secret.txt outside, tmp/static/ inside with files, a sub-site and links."""
    (tmp_path / "secret.txt").write_text("secret")
    static = tmp_path / "static"
    static.mkdir()
    (static / "hello.txt").write_text("hello")
    (static / "index.html").write_text("<h1>home</h1>")
    (static / "404.html").write_text("<h1>missing</h1>")
    (static / "sub").mkdir()
    (static / "sub" / "index.html").write_text("<h1>sub</h1>")
    (static / "sub" / "deep.css").write_text("body{}")
    (static / "noindex").mkdir()
    (static / "evil.com").mkdir()
    (static / "evil.com" / "index.html").write_text("x")
    os.symlink(tmp_path / "secret.txt", static / "outside.txt")
    os.symlink(static / "hello.txt", static / "inside.txt")
    return static


async def test_serves_files(site: Path) -> None:
    app = StaticFiles(directory=site)
    result = await run(app, path="/hello.txt")
    assert result.status == 200
    assert result.body == b"hello"
    assert result.header("content-type") == "text/plain; charset=utf-8"
    assert result.header("etag") is not None
    deep = await run(app, path="/sub/deep.css")
    assert deep.body == b"body{}"
    assert deep.header("content-type") == "text/css; charset=utf-8"
    head = await run(app, method="HEAD", path="/hello.txt")
    assert head.header("content-length") == "5"
    assert head.body == b""


async def test_missing_and_directories_are_404(site: Path) -> None:
    app = StaticFiles(directory=site)
    for path in ("/nope.txt", "/sub", "/sub/", "/", ""):
        result = await run(app, path=path)
        assert result.status == 404, path
        assert result.body == b"Not Found"


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/sub/../hello.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..\\secret.txt",
        "/sub\\..\\..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//etc/passwd",
        "/" + "/".join([".."] * 20) + "/etc/passwd",
        "/hello.txt\x00.png",
        "/C:/Windows/win.ini",
        "/c:hello.txt",
        "/outside.txt",
        "/\ud800.txt",
    ],
)
async def test_traversal_is_404(site: Path, path: str) -> None:
    result = await run(StaticFiles(directory=site), path=path)
    assert result.status == 404
    assert b"secret" not in result.body


async def test_symlinks(site: Path) -> None:
    inside = await run(StaticFiles(directory=site), path="/inside.txt")
    assert inside.body == b"hello"
    followed = await run(StaticFiles(directory=site, follow_symlink=True), path="/outside.txt")
    assert followed.body == b"secret"


async def test_only_get_and_head(site: Path) -> None:
    result = await run(StaticFiles(directory=site), method="POST", path="/hello.txt")
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD"
    assert result.body == b"Method Not Allowed"


async def test_errors_raise_inside_an_app(site: Path) -> None:
    app = StaticFiles(directory=site)
    with pytest.raises(HTTPException) as info:
        await run(app, method="DELETE", path="/hello.txt", app=object())
    assert info.value.status_code == 405
    assert info.value.headers == {"Allow": "GET, HEAD"}
    with pytest.raises(HTTPException) as info:
        await run(app, path="/nope", app=object())
    assert info.value.status_code == 404


async def test_get_response_raises_404_for_missing_and_escaping_paths(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    scope = make_scope()
    for path in ("/nope.txt", "/../secret.txt", "/outside.txt", "/a\\b"):
        with pytest.raises(HTTPException) as info:
            await StaticFiles(directory=site).get_response(path, scope)
        assert info.value.status_code == 404, path
    # html mode: a missing file is the 404 page, an escaping path is still the exception
    page = await app.get_response("/nope.txt", scope)
    assert page.status_code == 404
    with pytest.raises(HTTPException):
        await app.get_response("/../secret.txt", scope)


async def test_websocket_is_closed_normally(site: Path) -> None:
    messages = await run_websocket(StaticFiles(directory=site), "/hello.txt")
    assert messages == [{"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_lifespan_is_refused(site: Path) -> None:
    with pytest.raises(RuntimeError, match="only serves HTTP, not 'lifespan'"):
        await StaticFiles(directory=site)({"type": "lifespan"}, queue_receive([]), recorder()[1])


async def test_html_mode(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    home = await run(app, path="/")
    assert (home.status, home.body) == (200, b"<h1>home</h1>")
    assert home.header("content-type") == "text/html; charset=utf-8"
    sub = await run(app, path="/sub/")
    assert sub.body == b"<h1>sub</h1>"
    redirect = await run(app, path="/sub", query_string=b"a=1")
    assert redirect.status == 307
    assert redirect.header("location") == "/sub/?a=1"
    missing = await run(app, path="/nope")
    assert (missing.status, missing.body) == (404, b"<h1>missing</h1>")
    noindex = await run(app, path="/noindex/")
    assert noindex.status == 404
    assert noindex.body == b"<h1>missing</h1>"
    file = await run(app, path="/hello.txt")
    assert file.body == b"hello"


async def test_html_mode_redirect_is_never_protocol_relative(site: Path) -> None:
    result = await run(StaticFiles(directory=site, html=True), path="//evil.com")
    assert result.status == 307
    assert result.header("location") == "/evil.com/"


async def test_html_mode_without_404_page(tmp_path: Path) -> None:
    (tmp_path / "index.html").mkdir()  # not a regular file
    (tmp_path / "404.html").mkdir()
    app = StaticFiles(directory=tmp_path, html=True)
    assert (await run(app, path="/")).status == 404
    result = await run(app, path="/nope")
    assert (result.status, result.body) == (404, b"Not Found")


async def test_mounting_conventions(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    full = await run(app, path="/static/hello.txt", root_path="/static")
    assert full.body == b"hello"
    stripped = await run(app, path="/hello.txt", root_path="/static")
    assert stripped.body == b"hello"
    not_a_prefix = await run(app, path="/statichello.txt", root_path="/static")
    assert not_a_prefix.status == 404
    mount_root = await run(app, path="/static", root_path="/static")
    assert mount_root.status == 307
    assert mount_root.header("location") == "/static/"
    stripped_sub = await run(app, path="/sub", root_path="/static")
    assert stripped_sub.header("location") == "/static/sub/"
    quoted = await run(app, path="/st a?t/sub", root_path="/st a?t")
    assert quoted.header("location") == "/st%20a%3Ft/sub/"


async def test_conditional_and_range_requests(site: Path) -> None:
    app = StaticFiles(directory=site)
    first = await run(app, path="/hello.txt")
    etag = first.header("etag")
    assert etag is not None
    again = await run(app, path="/hello.txt", headers=[("If-None-Match", etag)])
    assert again.status == 304
    assert again.body == b""
    part = await run(app, path="/hello.txt", headers=[("Range", "bytes=1-3")])
    assert (part.status, part.body) == (206, b"ell")


async def test_not_modified_keeps_only_the_304_headers(site: Path) -> None:
    class Cached(StaticFiles):
        def file_response(
            self, full_path: Any, stat_result: os.stat_result, scope: Any, status_code: int = 200
        ) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["Cache-Control"] = "max-age=60"
            return response

    app = Cached(directory=site)
    etag = (await run(app, path="/hello.txt")).header("etag")
    assert etag is not None
    result = await run(app, path="/hello.txt", headers=[("If-None-Match", f'W/{etag}, "x"')])
    assert result.status == 304
    assert result.raw_headers == [(b"etag", etag.encode()), (b"cache-control", b"max-age=60")]
    since = (await run(app, path="/hello.txt")).header("last-modified")
    assert since is not None
    by_date = await run(app, path="/hello.txt", headers=[("If-Modified-Since", since)])
    assert by_date.status == 304
    # RFC 9110: a failed If-Match is a 412, whatever If-None-Match says
    failed = await run(
        app, path="/hello.txt", headers=[("If-Match", '"other"'), ("If-None-Match", etag)]
    )
    assert failed.status == 412
    changed = await run(app, path="/hello.txt", headers=[("If-None-Match", '"other"')])
    assert (changed.status, changed.body) == (200, b"hello")


async def test_is_not_modified(site: Path) -> None:
    app = StaticFiles(directory=site)
    date = "Sun, 06 Nov 1994 08:49:37 GMT"
    response = Headers({"etag": '"a"', "last-modified": date})
    assert app.is_not_modified(response, Headers({"if-none-match": "*"}))
    assert app.is_not_modified(response, Headers({"if-none-match": '"b", W/"a"'}))
    assert not app.is_not_modified(response, Headers({"if-none-match": '"b"'}))
    assert app.is_not_modified(response, Headers({"if-modified-since": date}))
    assert not app.is_not_modified(response, Headers({"if-modified-since": "garbage"}))
    assert not app.is_not_modified(response, Headers({}))
    for undated in (Headers({"etag": '"a"'}), Headers({"last-modified": "garbage"})):
        assert not app.is_not_modified(undated, Headers({"if-modified-since": date}))


async def test_is_not_modified_can_be_overridden(site: Path) -> None:
    class Always(StaticFiles):
        def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
            return True

    result = await run(Always(directory=site), path="/hello.txt")
    assert (result.status, result.body) == (304, b"")
    html = await run(Always(directory=site, html=True), path="/nope")
    assert html.status == 404  # only a 200 can become a 304


def test_not_modified_response() -> None:
    headers = Headers(
        raw=[
            (b"content-type", b"text/plain"),
            (b"etag", b'"a"'),
            (b"vary", b"accept"),
            (b"vary", b"origin"),
            (b"last-modified", b"x"),
        ]
    )
    response = NotModifiedResponse(headers)
    assert response.status_code == 304
    assert response.body == b""
    assert response.raw_headers == [(b"etag", b'"a"'), (b"vary", b"accept"), (b"vary", b"origin")]


async def test_check_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tmp_path / "missing")
    app = StaticFiles(directory=tmp_path / "missing", check_dir=False)
    assert app.config_checked is False
    with pytest.raises(RuntimeError, match=r"StaticFiles directory '.*missing' does not exist\."):
        await run(app, path="/x")
    assert app.config_checked is False  # checked again on the next request
    (tmp_path / "missing").write_text("a file")
    with pytest.raises(RuntimeError, match=r"StaticFiles path '.*missing' is not a directory\."):
        await run(app, path="/x")


async def test_config_is_checked_once(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    app = StaticFiles(directory=folder)
    assert (await run(app, path="/x")).status == 404
    assert app.config_checked is True
    folder.rmdir()
    assert (await run(app, path="/x")).status == 404
    only_packages = StaticFiles(packages=[])
    await only_packages.check_config()  # nothing to check without a directory


async def test_lookup_path(site: Path) -> None:
    app = StaticFiles(directory=site)
    full_path, stat_result = app.lookup_path("sub/deep.css")
    assert full_path == str(site / "sub" / "deep.css")
    assert stat_result is not None
    assert stat_result.st_size == 6
    for path in ("nope", "../secret.txt", "outside.txt", "a\\b", "x\0", "C:/w", "\ud800"):
        assert app.lookup_path(path) == ("", None), path
    assert app.lookup_path("hello.txt/x") == ("", None)  # a file used as a directory
    assert app.lookup_path("x" * 5000) == ("", None)  # a name too long


async def test_lookup_path_can_be_overridden(site: Path) -> None:
    class Aliased(StaticFiles):
        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            return super().lookup_path("hello.txt" if path == "greeting" else path)

    result = await run(Aliased(directory=site), path="/greeting")
    assert (result.status, result.body) == (200, b"hello")


async def test_lookup_path_runs_in_a_thread_with_the_callers_context(site: Path) -> None:
    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant")
    seen: list[tuple[int, str]] = []

    class Recording(StaticFiles):
        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            seen.append((threading.get_ident(), tenant.get()))
            return super().lookup_path(path)

    tenant.set("acme")
    result = await run(Recording(directory=site), path="/hello.txt")
    assert (result.status, result.body) == (200, b"hello")
    assert seen == [(seen[0][0], "acme")]
    assert seen[0][0] != threading.get_ident()


@pytest.fixture
def failing_stat(monkeypatch: pytest.MonkeyPatch, site: Path) -> Callable[[int], None]:
    """Make os.stat fail with `code` for site/hello.txt only."""

    def arrange(code: int) -> None:
        real_stat = os.stat
        target = str(site / "hello.txt")

        def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            if str(path) == target:
                raise OSError(code, os.strerror(code), str(path))
            return real_stat(path, *args, **kwargs)

        monkeypatch.setattr(os, "stat", stat)

    return arrange


async def test_unexpected_filesystem_error_propagates(
    site: Path, failing_stat: Callable[[int], None]
) -> None:
    failing_stat(errno.EIO)
    with pytest.raises(OSError, match="Input/output error"):
        await run(StaticFiles(directory=site), path="/hello.txt")


async def test_permission_error_is_404(site: Path, failing_stat: Callable[[int], None]) -> None:
    failing_stat(errno.EACCES)
    result = await run(StaticFiles(directory=site), path="/hello.txt")
    assert (result.status, result.body) == (404, b"Not Found")


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pkgs"
    for name, folder, filename in [
        ("pkg_statics", "statics", "a.txt"),
        ("pkg_static", "static", "b.txt"),
        ("pkg_assets", "assets", "c.txt"),
        ("pkg_bare", None, None),
    ]:
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
        if folder is not None and filename is not None:
            (root / name / folder).mkdir()
            (root / name / folder / filename).write_text(filename)
    (root / "pkg_namespace").mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


async def test_packages(site: Path, packages: Path) -> None:
    app = StaticFiles(
        directory=site, packages=["pkg_statics", "pkg_static", ("pkg_assets", "assets")]
    )
    assert app.all_directories == [
        site,
        str(packages / "pkg_statics" / "statics"),
        str(packages / "pkg_static" / "static"),
        str(packages / "pkg_assets" / "assets"),
    ]
    for path, body in [("/hello.txt", b"hello"), ("/a.txt", b"a.txt"), ("/c.txt", b"c.txt")]:
        assert (await run(app, path=path)).body == body
    only_packages = StaticFiles(packages=["pkg_static"])
    assert (await run(only_packages, path="/b.txt")).body == b"b.txt"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pkg_not_installed_anywhere", "could not be found"),
        ("pkg_namespace", "could not be found"),
        ("pkg_bare", "no 'statics' or 'static' directory"),
        (("pkg_bare", "assets"), "no 'assets' directory"),
    ],
)
def test_bad_packages(packages: Path, spec: Any, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        StaticFiles(packages=[spec])
    sys.modules.pop("pkg_bare", None)


async def test_file_response_can_be_overridden(site: Path) -> None:
    class Cached(StaticFiles):
        def file_response(
            self, full_path: str, stat_result: os.stat_result, scope: Any, status_code: int = 200
        ) -> Response:
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["Cache-Control"] = "max-age=3600"
            return response

    result = await run(Cached(directory=site), path="/hello.txt")
    assert result.header("cache-control") == "max-age=3600"
    assert isinstance(
        StaticFiles(directory=site).file_response(str(site / "hello.txt"), os.stat(site), {}),
        FileResponse,
    )


async def test_over_the_test_client(site: Path) -> None:
    app = StaticFiles(directory=site, html=True)
    # Not entered with `async with`: a bare StaticFiles has no lifespan.
    http = AsyncTestClient(app, follow_redirects=False)
    try:
        assert (await http.get("/hello.txt")).text == "hello"
        redirect = await http.get("/sub")
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "/sub/"
        assert (await http.get("/sub/")).text == "<h1>sub</h1>"
        missing = await http.get("/nope")
        assert (missing.status_code, missing.text) == (404, "<h1>missing</h1>")
    finally:
        await http.aclose()

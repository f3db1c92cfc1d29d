from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import make_scope, queue_receive, recorder, run

from asgi_core.exceptions import HTTPException
from asgi_responses import FileResponse, Response
from asgi_responses.staticfiles import StaticFiles
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


async def test_only_http(site: Path) -> None:
    result, send = recorder()
    with pytest.raises(RuntimeError, match="only serves HTTP"):
        await StaticFiles(directory=site)(make_scope(type="websocket"), queue_receive([]), send)
    assert result.messages == []


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


async def test_check_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tmp_path / "missing")
    app = StaticFiles(directory=tmp_path / "missing", check_dir=False)
    assert (await run(app, path="/x")).status == 404


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
    async with AsyncTestClient(app, follow_redirects=False) as http:
        assert (await http.get("/hello.txt")).text == "hello"
        redirect = await http.get("/sub")
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "/sub/"
        assert (await http.get("/sub/")).text == "<h1>sub</h1>"

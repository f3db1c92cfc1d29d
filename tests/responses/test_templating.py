from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
from asgi_driver import call, make_scope, queue_receive, run

import asgi_responses.templating as templating
from asgi_core.background import BackgroundTask
from asgi_core.datastructures import URLPath
from asgi_core.requests import Request
from asgi_responses import HTMLResponse
from asgi_responses.templating import Jinja2Templates
from asgi_testkit import AsyncTestClient

pytestmark = pytest.mark.anyio


class FakeRouter:
    """Just enough of a router for ``request.url_for``."""

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        return URLPath(f"/{name}/" + "/".join(f"{k}={v}" for k, v in sorted(path_params.items())))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "page.html").write_text("<p>{{ name }}</p><p>{{ request.url.path }}</p>")
    (tmp_path / "plain.txt").write_text("{{ name }}")
    (tmp_path / "link.html").write_text("{{ url_for('user', id=7) }}")
    (tmp_path / "extra.html").write_text("{{ site }}|{{ name }}")
    return tmp_path


def make_request(**extra: Any) -> Request:
    return Request(make_scope("GET", "/here", **extra))


async def test_renders_with_request_in_context(folder: Path) -> None:
    templates = Jinja2Templates(directory=folder)
    request = make_request()
    response = templates.TemplateResponse(request, "page.html", {"name": "<b>Ann</b>"})
    assert isinstance(response, HTMLResponse)
    assert response.body == b"<p>&lt;b&gt;Ann&lt;/b&gt;</p><p>/here</p>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.template.name == "page.html"  # type: ignore[attr-defined]
    assert response.context == {"name": "<b>Ann</b>", "request": request}  # type: ignore[attr-defined]
    result = await run(response)
    assert result.body == response.body


def test_no_autoescape_for_text(folder: Path) -> None:
    templates = Jinja2Templates(folder)
    response = templates.TemplateResponse(
        make_request(),
        "plain.txt",
        {"name": "<b>"},
        status_code=201,
        headers={"X-A": "1"},
        media_type="text/plain",
    )
    assert response.body == b"<b>"
    assert response.status_code == 201
    assert response.headers["x-a"] == "1"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_background(folder: Path) -> None:
    ran: list[int] = []
    response = Jinja2Templates(folder).TemplateResponse(
        make_request(), "plain.txt", background=BackgroundTask(ran.append, 1)
    )
    await run(response)
    assert ran == [1]


def test_url_for_uses_the_router(folder: Path) -> None:
    request = make_request(router=FakeRouter())
    response = Jinja2Templates(folder).TemplateResponse(request, "link.html")
    assert response.body == b"http://testserver/user/id=7"


def test_context_processors(folder: Path) -> None:
    def site(request: Request) -> dict[str, Any]:
        return {"site": request.url.path}

    templates = Jinja2Templates(directory=[folder], context_processors=[site])
    response = templates.TemplateResponse(make_request(), "extra.html", {"name": "n"})
    assert response.body == b"/here|n"


def test_env_and_get_template(folder: Path) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.html": "{{ x }}"}), autoescape=False)
    templates = Jinja2Templates(env=env)
    assert templates.env is env
    assert templates.get_template("t.html").render(x="<i>") == "<i>"
    assert "url_for" in env.globals
    response = templates.TemplateResponse(make_request(), "t.html", {"x": 1})
    assert response.body == b"1"


def test_directory_xor_env(folder: Path) -> None:
    with pytest.raises(ValueError):
        Jinja2Templates()
    with pytest.raises(ValueError):
        Jinja2Templates(folder, env=jinja2.Environment())


async def test_debug_extension(folder: Path) -> None:
    response = Jinja2Templates(folder).TemplateResponse(make_request(), "plain.txt")
    debug_scope = make_scope("GET", "/", extensions={"http.response.debug": {}})
    messages = await call(response, debug_scope, queue_receive([]))
    assert messages[0]["type"] == "http.response.debug"
    assert messages[0]["info"]["template"].name == "plain.txt"
    assert messages[0]["info"]["context"]["request"].url.path == "/here"
    assert [m["type"] for m in messages[1:]] == ["http.response.start", "http.response.body"]


async def test_no_debug_message_without_the_extension(folder: Path) -> None:
    response = Jinja2Templates(folder).TemplateResponse(make_request(), "plain.txt", {"name": "x"})
    messages = await call(response, make_scope("GET", "/"), queue_receive([]))
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]


async def test_debug_info_over_the_test_client(folder: Path) -> None:
    templates = Jinja2Templates(folder)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = templates.TemplateResponse(request, "page.html", {"name": "Ada"})
        await response(scope, receive, send)

    reply = await AsyncTestClient(app).get("/hi")
    assert reply.text == "<p>Ada</p><p>/hi</p>"
    assert reply.template.name == "page.html"  # type: ignore[attr-defined]
    assert reply.context["name"] == "Ada"  # type: ignore[attr-defined]


def test_missing_jinja2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    spec = importlib.util.spec_from_file_location("_templating_without_jinja2", templating.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match=r"asgi-responses\[templates\]"):
        spec.loader.exec_module(module)

"""Mistakes a newcomer makes with templates get an error that says what to write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import make_scope
from jinja2 import TemplateNotFound

from asgi_core.requests import Request
from asgi_responses.templating import Jinja2Templates


@pytest.fixture
def templates(tmp_path: Path) -> Jinja2Templates:
    (tmp_path / "index.html").write_text("<p>{{ request.url.path }}</p>")
    return Jinja2Templates(directory=tmp_path)


def test_old_template_response_form_says_to_pass_the_request_first(
    templates: Jinja2Templates,
) -> None:
    request = Request(make_scope("GET", "/"))
    old_form: Any = templates.TemplateResponse
    with pytest.raises(TypeError, match=r"takes the request first") as caught:
        old_form("index.html", {"request": request})
    message = str(caught.value)
    assert "TemplateResponse(request, 'index.html', context)" in message
    assert "unhashable" not in message
    assert caught.value.__cause__ is None


def test_other_template_errors_are_left_alone(templates: Jinja2Templates) -> None:
    request = Request(make_scope("GET", "/"))
    with pytest.raises(TemplateNotFound):
        templates.TemplateResponse(request, "missing.html")
    bad_name: Any = {"not": "a name"}
    with pytest.raises(TypeError, match="unhashable"):  # not the old form: jinja2's error
        templates.TemplateResponse(request, bad_name)


def test_the_new_form_still_renders(templates: Jinja2Templates) -> None:
    request = Request(make_scope("GET", "/here"))
    assert templates.TemplateResponse(request, "index.html").body == b"<p>/here</p>"


def test_importing_templating_without_jinja2_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    monkeypatch.delitem(sys.modules, "asgi_responses.templating")
    with pytest.raises(ImportError, match=r'pip install "asgi-responses\[templates\]"'):
        __import__("asgi_responses.templating")

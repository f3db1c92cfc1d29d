from __future__ import annotations

import pytest

from asgi_core.exceptions import HTTPException, WebSocketException


def test_http_exception_defaults_detail_to_reason_phrase() -> None:
    exc = HTTPException(404)
    assert exc.status_code == 404
    assert exc.detail == "Not Found"
    assert exc.headers is None
    assert str(exc) == "404: Not Found"
    assert repr(exc) == "HTTPException(status_code=404, detail='Not Found')"


def test_http_exception_custom_detail_and_headers() -> None:
    exc = HTTPException(401, detail="Log in first", headers={"WWW-Authenticate": "Basic"})
    assert exc.detail == "Log in first"
    assert exc.headers == {"WWW-Authenticate": "Basic"}
    assert str(exc) == "401: Log in first"


def test_http_exception_unknown_status_has_empty_detail() -> None:
    exc = HTTPException(599)
    assert exc.detail == ""
    assert str(exc) == "599: "


def test_http_exception_is_raisable_and_subclassable() -> None:
    class Teapot(HTTPException):
        pass

    with pytest.raises(HTTPException) as info:
        raise Teapot(418)
    assert info.value.detail == "I'm a Teapot"
    assert repr(info.value) == 'Teapot(status_code=418, detail="I\'m a Teapot")'


def test_websocket_exception() -> None:
    exc = WebSocketException(1008, reason="No token")
    assert exc.code == 1008
    assert exc.reason == "No token"
    assert str(exc) == "1008: No token"
    assert repr(exc) == "WebSocketException(code=1008, reason='No token')"


def test_websocket_exception_reason_defaults_to_empty() -> None:
    exc = WebSocketException(1011)
    assert exc.reason == ""
    assert str(exc) == "1011: "

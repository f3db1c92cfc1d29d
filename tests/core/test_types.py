"""The type aliases ported code imports from asgi_core.types."""

from __future__ import annotations

import typing

from asgi_core import types


def test_exception_handler_aliases() -> None:
    http = typing.get_args(types.HTTPExceptionHandler)
    websocket = typing.get_args(types.WebSocketExceptionHandler)
    assert http[0][1] is Exception
    assert websocket[0][1] is Exception
    assert typing.get_args(types.ExceptionHandler) == (
        types.HTTPExceptionHandler,
        types.WebSocketExceptionHandler,
    )
    for name in ("HTTPExceptionHandler", "WebSocketExceptionHandler", "ExceptionHandler"):
        assert name in types.__all__

from __future__ import annotations

import http
import re

import pytest

from asgi_core import status
from asgi_core.exceptions import ASGIDeprecationWarning, StarletteDeprecationWarning


def test_http_constants_match_http_status() -> None:
    names = [name for name in status.__all__ if name.startswith("HTTP_")]
    assert len(names) == 63
    for name in names:
        code = int(name.split("_")[1])
        assert getattr(status, name) == code


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_100_CONTINUE", 100),
        ("HTTP_103_EARLY_HINTS", 103),
        ("HTTP_200_OK", 200),
        ("HTTP_418_IM_A_TEAPOT", 418),
        ("HTTP_421_MISDIRECTED_REQUEST", 421),
        ("HTTP_422_UNPROCESSABLE_CONTENT", 422),
        ("HTTP_425_TOO_EARLY", 425),
        ("HTTP_451_UNAVAILABLE_FOR_LEGAL_REASONS", 451),
        ("HTTP_511_NETWORK_AUTHENTICATION_REQUIRED", 511),
        ("WS_1000_NORMAL_CLOSURE", 1000),
        ("WS_1012_SERVICE_RESTART", 1012),
        ("WS_1013_TRY_AGAIN_LATER", 1013),
        ("WS_1014_BAD_GATEWAY", 1014),
        ("WS_1015_TLS_HANDSHAKE", 1015),
    ],
)
def test_named_constants(name: str, value: int) -> None:
    assert getattr(status, name) == value
    assert name in status.__all__


def test_every_standard_status_has_a_constant() -> None:
    values = {getattr(status, name) for name in status.__all__ if name.startswith("HTTP_")}
    standard = {s.value for s in http.HTTPStatus}
    assert standard <= values | {306}


def test_names_are_well_formed_and_exported() -> None:
    pattern = re.compile(r"(HTTP_[1-5]\d\d|WS_10\d\d)_[A-Z_]+")
    public = [name for name in vars(status) if name.isupper() and not name.startswith("_")]
    assert sorted(public) == sorted(status.__all__)
    assert all(pattern.fullmatch(name) for name in status.__all__)
    ws = [name for name in status.__all__ if name.startswith("WS_")]
    assert len(ws) == 15


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("HTTP_413_REQUEST_ENTITY_TOO_LARGE", "HTTP_413_CONTENT_TOO_LARGE"),
        ("HTTP_414_REQUEST_URI_TOO_LONG", "HTTP_414_URI_TOO_LONG"),
        ("HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE", "HTTP_416_RANGE_NOT_SATISFIABLE"),
        ("HTTP_422_UNPROCESSABLE_ENTITY", "HTTP_422_UNPROCESSABLE_CONTENT"),
    ],
)
def test_deprecated_names_warn(old: str, new: str) -> None:
    with pytest.warns(ASGIDeprecationWarning, match=new) as record:
        value = getattr(status, old)
    assert record[0].filename == __file__  # pointing at the code that used the name
    assert value == getattr(status, new)
    assert old in dir(status)
    assert old not in status.__all__


def test_unknown_name_raises_attribute_error() -> None:
    # The message Python (and Starlette) give for a missing module attribute.
    with pytest.raises(
        AttributeError, match=r"^module 'asgi_core.status' has no attribute 'HTTP_999_NOPE'$"
    ):
        status.HTTP_999_NOPE  # type: ignore[attr-defined]  # noqa: B018


def test_the_deprecation_warning_is_starlettes_visible_user_warning() -> None:
    """As Starlette's: a UserWarning, so Python's default filters show it (they hide
    DeprecationWarning outside __main__); Starlette's name is an alias."""
    assert StarletteDeprecationWarning is ASGIDeprecationWarning
    assert issubclass(ASGIDeprecationWarning, UserWarning)
    assert not issubclass(ASGIDeprecationWarning, DeprecationWarning)


def test_from_import_of_deprecated_name() -> None:
    with pytest.warns(StarletteDeprecationWarning, match="HTTP_422_UNPROCESSABLE_CONTENT"):
        from asgi_core.status import HTTP_422_UNPROCESSABLE_ENTITY  # type: ignore[attr-defined]
    assert HTTP_422_UNPROCESSABLE_ENTITY == 422

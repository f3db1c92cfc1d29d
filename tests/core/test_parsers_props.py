"""Properties of the pure parsers: junk never breaks them, and they agree with json."""

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_core import _parsers
from asgi_core._parsers import (
    ParseError,
    json_depth,
    parse_content_type,
    parse_cookie,
    parse_json,
    parse_urlencoded,
    parse_urlencoded_fast,
    unquote_cookie_value,
)

# Text biased toward the characters the parsers care about.
_SPECIAL = st.sampled_from([*';=",\\ \t[]{}%+&/', "\\0", "\\12", "\\377"])
_junk_text = st.lists(st.one_of(_SPECIAL, st.text(max_size=4)), max_size=40).map("".join)
_junk_bytes = st.one_of(st.binary(max_size=200), _junk_text.map(lambda s: s.encode()))

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=30,
)


# No deadline: these check behaviour, never speed (a loaded CI machine is slow).
_settings = settings(deadline=None, max_examples=150)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


@_settings
@given(_junk_text)
def test_cookie_parser_never_raises(header: str) -> None:
    cookies = parse_cookie(header)
    for key, value in cookies.items():
        assert ";" not in key
        assert key == key.strip()
        assert isinstance(value, str)


@_settings
@given(_junk_text)
def test_unquote_never_grows_a_quoted_value(value: str) -> None:
    quoted = f'"{value}"'
    assert len(unquote_cookie_value(quoted)) <= len(value)


@_settings
@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True), st.text()))
def test_cookie_values_round_trip_through_quoting(cookies: dict[str, str]) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    header = "; ".join(f"{key}={quote(value)}" for key, value in cookies.items())
    if all(";" not in value for value in cookies.values()):
        assert parse_cookie(header) == cookies


@_settings
@given(_junk_text)
def test_content_type_parser_never_raises(header: str) -> None:
    media_type, params = parse_content_type(header)
    assert media_type == media_type.strip().lower()
    assert all(name and name == name.lower() for name in params)


@_settings
@given(
    st.from_regex(r"[a-z]+/[a-z+.-]+", fullmatch=True),
    st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.text(), max_size=4),
)
def test_content_type_quoted_params_round_trip(media: str, params: dict[str, str]) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    header = media + "".join(f"; {name}={quote(value)}" for name, value in params.items())
    assert parse_content_type(header) == (media, params)


@_settings
@given(_junk_bytes)
def test_json_depth_never_raises(data: bytes) -> None:
    assert json_depth(data) >= 0


@_settings
@given(_junk_bytes, st.integers(min_value=0, max_value=10))
def test_parse_json_raises_only_parse_error(data: bytes, max_depth: int) -> None:
    with contextlib.suppress(ParseError):
        parse_json(data, max_depth=max_depth)


@_settings
@given(_json_values)
def test_depth_scan_agrees_with_json(value: Any) -> None:
    document = json.dumps(value).encode()
    assert json_depth(document) == _depth(json.loads(document))
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert json_depth(compact) == _depth(value)


@_settings
@given(_json_values, st.integers(min_value=0, max_value=6))
def test_parse_json_accepts_exactly_up_to_max_depth(value: Any, max_depth: int) -> None:
    document = json.dumps(value).encode()
    if _depth(value) <= max_depth:
        assert parse_json(document, max_depth=max_depth) == json.loads(document)
    else:
        with pytest.raises(ParseError, match="nested too deeply"):
            parse_json(document, max_depth=max_depth)


@_settings
@given(_junk_bytes)
def test_urlencoded_parser_never_raises_within_limits(body: bytes) -> None:
    items = parse_urlencoded(body, max_fields=float("inf"))
    assert len(items) <= body.count(b"&") + 1


# --- urlencoded: the ASCII fast path answers exactly as the general (bytes) path ----------

# Pieces a form body is made of, hostile ones included: separators, "+", escapes good,
# bad and cut short, ";", spaces, control bytes, UTF-8 (valid, cut short, invalid).
_FORM_PIECES = st.sampled_from(
    [
        b"a",
        b"Z",
        b"0",
        b"=",
        b"&",
        b"&&",
        b"+",
        b";",
        b" ",
        b"\t",
        b"\x00",
        b"%",
        b"%4",
        b"%41",
        b"%zz",
        b"%C3%A9",
        b"%FF",
        b"\xc3\xa9",
        b"\xc3",
        b"\xff",
        b"\x7f",
        b"~",
    ]
)
_form_bodies = st.one_of(
    st.lists(_FORM_PIECES, max_size=30).map(b"".join),
    st.lists(st.sampled_from([b"a", b"bc", b"=", b"&", b"+", b" ", b"&&"]), max_size=30).map(
        b"".join
    ),  # ASCII without escapes: the fast path's own inputs
    st.binary(max_size=60),
)
_limits = st.sampled_from([0, 1, 2, 3, 5, 1000, float("inf")])
_form_charsets = st.sampled_from(["utf-8", "latin-1", "ascii", "utf-16-le", "cp037"])


def _outcome(parse: Any, *args: Any) -> Any:
    """What a parse gives: its pairs, or its error's type and message."""
    try:
        return parse(*args)
    except ParseError as exc:
        return type(exc), str(exc)


@settings(deadline=None, max_examples=600)
@given(_form_bodies, _limits, _limits, _form_charsets)
def test_urlencoded_fast_path_agrees_with_the_general_path(
    body: bytes, max_fields: float, max_part_size: float, charset: str
) -> None:
    def fast(*args: Any) -> Any:
        return parse_urlencoded(args[0], max_fields=args[1], charset=args[2], max_part_size=args[3])

    general = _outcome(_parsers._parse_urlencoded_bytes, body, max_fields, charset, max_part_size)
    assert _outcome(fast, body, max_fields, charset, max_part_size) == general
    # The fast path alone (UTF-8): the general path's pairs and their dict, or no answer.
    parsed = parse_urlencoded_fast(body, max_fields, max_part_size)
    if parsed is not None and charset == "utf-8":
        assert parsed == (general, dict(general))


@pytest.mark.parametrize(
    ("body", "fast", "max_part_size"),
    [
        (b"name=alice&age=30&city=Paris", True, 40),
        (b"a+b=c+d&=&x", True, 40),
        (b"", True, 40),
        (b"a=%41", False, 40),  # an escape
        (b"a=\xc3\xa9", False, 40),  # not ASCII
        (b"a=" + b"x" * 38 + b"&b=" + b"y" * 37, True, 40),  # each pair within max_part_size
        (b"a=1&b=2&c=3&d=4", False, 40),  # over max_fields: the general path raises
        (b"a=1&&b=2&c", False, 40),  # as many "&" as max_fields: the general path decides
        (b"a&&&b", True, 40),  # as many "&" as max_fields, but too short for more pairs
        (b"a&&&bc", False, 40),  # long enough for four pairs: the general path counts
        (b"a=" + b"x" * 39, False, 40),  # a pair over max_part_size: the general path decides
        (b"a" * 41, False, 40),  # a name over max_part_size: the general path raises
        (b"a=" + b"x" * (64 * 1024 - 2), True, float("inf")),
        (b"a=" + b"x" * (64 * 1024 - 1), False, float("inf")),  # over 64 KiB: not copied
    ],
)
def test_urlencoded_fast_path_takes_the_common_bodies(
    body: bytes, fast: bool, max_part_size: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    general_calls: list[bytes] = []
    general = _parsers._parse_urlencoded_bytes

    def spy(*args: Any) -> Any:
        general_calls.append(args[0])
        return general(*args)

    monkeypatch.setattr(_parsers, "_parse_urlencoded_bytes", spy)
    with contextlib.suppress(ParseError):
        parse_urlencoded(body, max_fields=3, max_part_size=max_part_size)
    assert general_calls == ([] if fast else [body])
    with contextlib.suppress(ParseError):
        parse_urlencoded(body, max_fields=3, max_part_size=max_part_size, charset="latin-1")
    assert general_calls[-1:] == [body]  # other charsets: always the general path

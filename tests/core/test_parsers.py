import json

import pytest

from asgi_core._parsers import (
    ParseError,
    is_json_media_type,
    json_depth,
    parse_content_type,
    parse_cookie,
    parse_json,
    parse_urlencoded,
    unquote_cookie_value,
)

# --- cookies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("  a = 1 ;b=2  ", {"a": "1", "b": "2"}),
        ("a=1=2", {"a": "1=2"}),
        ("a=", {"a": ""}),
        ("lonely", {"": "lonely"}),
        (";;;", {}),
        ("a=1;;b=2;", {"a": "1", "b": "2"}),
        ("a=1; a=2", {"a": "2"}),
        ('a="quoted value"', {"a": "quoted value"}),
        ('a="x\\"y"', {"a": 'x"y'}),
        ('a="\\012"', {"a": "\n"}),
        ('a="\\\\"', {"a": "\\"}),
        ('a="unterminated', {"a": '"unterminated'}),
        ('a="', {"a": '"'}),
        ("a=b\\c", {"a": "b\\c"}),
        ("=value", {"": "value"}),
        ("name=; x=1", {"name": "", "x": "1"}),
        ("a=caf\xe9", {"a": "caf\xe9"}),
    ],
)
def test_parse_cookie(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie(header) == expected


def test_unquote_cookie_value() -> None:
    assert unquote_cookie_value("plain") == "plain"
    assert unquote_cookie_value('""') == ""
    assert unquote_cookie_value('"no escapes"') == "no escapes"
    assert unquote_cookie_value('"\\101\\x\\"') == "Ax\\"
    assert unquote_cookie_value('"\\477"') == "477"  # not octal: first digit > 3


def test_cookie_with_many_backslashes_is_linear() -> None:
    value = '"' + "\\" * 30_000 + '"'
    assert parse_cookie("a=" + value) == {"a": "\\" * 15_000}
    odd = '"' + "\\" * 30_001 + '"'
    assert unquote_cookie_value(odd) == "\\" * 15_001


def test_cookie_with_thousands_of_separators() -> None:
    header = ";" * 100_000 + "a=1" + "; " * 50_000 + "b=2"
    assert parse_cookie(header) == {"a": "1", "b": "2"}


# --- Content-Type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", ("", {})),
        ("text/HTML", ("text/html", {})),
        ("text/html; charset=UTF-8", ("text/html", {"charset": "UTF-8"})),
        ('text/html; Charset="utf-8"', ("text/html", {"charset": "utf-8"})),
        ("a/b;x=1;y=2", ("a/b", {"x": "1", "y": "2"})),
        ("a/b; x = 1 ; y", ("a/b", {"x": "1", "y": ""})),
        ("a/b; x=1; x=2", ("a/b", {"x": "1"})),
        ('a/b; x="semi;colon"; y=2', ("a/b", {"x": "semi;colon", "y": "2"})),
        ('a/b; x="esc\\"aped\\\\"; y=2', ("a/b", {"x": 'esc"aped\\', "y": "2"})),
        ('a/b; f="C:\\dir\\f.txt"', ("a/b", {"f": "C:\\dir\\f.txt"})),
        ('a/b; x="unterminated; y=2', ("a/b", {"x": "unterminated; y=2"})),
        ('a/b; x="trailing\\', ("a/b", {"x": "trailing"})),
        ('a/b; x="v"junk; y=2', ("a/b", {"x": "v", "y": "2"})),
        ("a/b; =novalue; ;; y=2", ("a/b", {"y": "2"})),
        ('a/b; "q"=1', ("a/b", {})),
        (";boundary=x", ("", {"boundary": "x"})),
    ],
)
def test_parse_content_type(header: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_content_type(header) == expected


def test_content_disposition() -> None:
    value = 'form-data; name="file"; filename="a b.txt"; filename*=UTF-8\'\'evil.sh'
    assert parse_content_type(value) == (
        "form-data",
        {"name": "file", "filename": "a b.txt", "filename*": "UTF-8''evil.sh"},
    )


def test_content_type_with_many_separators_and_quotes() -> None:
    header = "text/plain" + ";" * 50_000 + '; a="' + '\\"' * 20_000
    media, params = parse_content_type(header)
    assert media == "text/plain"
    assert params == {"a": '"' * 20_000}


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        ("application/json", True),
        ("application/ld+json", True),
        ("application/vnd.api+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data", False),
        ("+json", False),
        ("/+json", False),
        ("application/jsonx", False),
        ("", False),
    ],
)
def test_is_json_media_type(media_type: str, expected: bool) -> None:
    assert is_json_media_type(media_type) is expected


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "depth"),
    [
        (b"1", 0),
        (b"", 0),
        (b"[]", 1),
        (b"[[], [[]]]", 3),
        (b'{"a": [1]}', 2),
        (b'["[[[[", "]]]]"]', 1),
        (b'["\\"[[[", {"k\\\\": [0]}]', 3),
        (b'"unterminated [[[[', 0),
        (b'"trailing backslash \\', 0),
        (b"]]]", 0),
    ],
)
def test_json_depth(document: bytes, depth: int) -> None:
    assert json_depth(document) == depth


def test_parse_json_valid() -> None:
    assert parse_json(b'{"a": [1, 2, {"b": null}]}', max_depth=3) == {"a": [1, 2, {"b": None}]}
    assert parse_json(b"[" * 3 + b"]" * 3, max_depth=3) == [[[]]]
    # Many sibling containers: more brackets than max_depth but shallow.
    siblings = b"[" + b",".join([b"[]"] * 500) + b"]"
    assert parse_json(siblings, max_depth=2) == [[]] * 500


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b" \r\n\t", "empty"),
        (b'"\xff"', "UTF-8"),
        ('"caf\xe9"'.encode("utf-16"), "UTF-8"),
        (b"{", "not valid JSON"),
        (b"[1,]", "not valid JSON"),
        (b"1" * 5000, "number is too long"),
        (b"[" * 5, "nested too deeply"),
        (b"[" * 4 + b"]" * 4, "nested too deeply"),
    ],
)
def test_parse_json_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_json(body, max_depth=3)


def test_deep_json_is_refused_before_parsing() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ParseError, match="at most 64 levels"):
        parse_json(body, max_depth=64)


def test_depth_limit_above_interpreter_recursion_is_still_a_parse_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_json(body, max_depth=10**9)


def test_parse_json_agrees_with_json_module() -> None:
    body = json.dumps({"x": ["[", "{", {"y": "\\"}]}).encode()
    assert parse_json(body, max_depth=3) == json.loads(body)


# --- urlencoded ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", []),
        (b"a=1", [("a", "1")]),
        (b"a=1&b=2&a=3", [("a", "1"), ("b", "2"), ("a", "3")]),
        (b"a&b=", [("a", ""), ("b", "")]),
        (b"&&a=1&&", [("a", "1")]),
        (b"a+b=c+d%20e", [("a b", "c d e")]),
        (b"k=%E2%82%AC", [("k", "\u20ac")]),
        (b"k=%ff", [("k", "\ufffd")]),
        (b"k=%zz%", [("k", "%zz%")]),
        (b"k=a;b", [("k", "a;b")]),
        (b"=v", [("", "v")]),
    ],
)
def test_parse_urlencoded(body: bytes, expected: list[tuple[str, str]]) -> None:
    assert parse_urlencoded(body, max_fields=10) == expected


def test_parse_urlencoded_charset() -> None:
    assert parse_urlencoded(b"k=caf%E9", max_fields=1, charset="latin-1") == [("k", "caf\xe9")]


def test_parse_urlencoded_field_limit() -> None:
    assert len(parse_urlencoded(b"a&" * 3, max_fields=3)) == 3
    with pytest.raises(ParseError, match="Maximum number of fields is 3"):
        parse_urlencoded(b"a&" * 4, max_fields=3)
    assert len(parse_urlencoded(b"a&" * 4, max_fields=float("inf"))) == 4

"""Behaviour of asgi_core.datastructures, through its public API."""

from __future__ import annotations

import copy
import io
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from asgi_driver import make_scope

from asgi_core.datastructures import (
    URL,
    Address,
    CommaSeparatedStrings,
    FormData,
    Headers,
    ImmutableMultiDict,
    MultiDict,
    MutableHeaders,
    QueryParams,
    Secret,
    State,
    UploadFile,
    URLPath,
    find_header,
)

# --- URL ------------------------------------------------------------------------------


def test_url_components() -> None:
    url = URL("https://user:secret@example.org:8443/a/b?x=1&y=2#frag")
    assert url.scheme == "https"
    assert url.netloc == "user:secret@example.org:8443"
    assert url.path == "/a/b"
    assert url.query == "x=1&y=2"
    assert url.fragment == "frag"
    assert url.username == "user"
    assert url.password == "secret"
    assert url.hostname == "example.org"
    assert url.port == 8443
    assert url.is_secure
    assert url.components.geturl() == str(url)


@pytest.mark.parametrize(
    ("url", "secure"),
    [("http://a/", False), ("https://a/", True), ("ws://a/", False), ("wss://a/", True)],
)
def test_url_is_secure(url: str, secure: bool) -> None:
    assert URL(url).is_secure is secure


def test_url_empty_and_relative() -> None:
    assert str(URL()) == ""
    url = URL("/path?q=1")
    assert url.path == "/path"
    assert url.query == "q=1"
    assert url.hostname is None
    assert url.port is None
    assert url.username is None


def test_url_from_components() -> None:
    url = URL(scheme="https", netloc="example.org", path="/p", query="a=1", fragment="f")
    assert str(url) == "https://example.org/p?a=1#f"
    assert URL(scheme="http", hostname="example.org", port=8000, path="/") == (
        "http://example.org:8000/"
    )


def test_url_refuses_url_with_scope_or_components() -> None:
    with pytest.raises(ValueError, match="scope"):
        URL("http://a/", scope=make_scope())
    with pytest.raises(ValueError, match="scope"):
        URL(scope=make_scope(), path="/x")
    with pytest.raises(ValueError, match="components"):
        URL("http://a/", path="/x")


def test_url_replace_simple_components() -> None:
    url = URL("http://example.org/a?x=1#f")
    assert url.replace(scheme="https") == "https://example.org/a?x=1#f"
    assert url.replace(path="/b") == "http://example.org/b?x=1#f"
    assert url.replace(query="") == "http://example.org/a#f"
    assert url.replace(fragment="") == "http://example.org/a?x=1"
    assert url.replace(netloc="other:81") == "http://other:81/a?x=1#f"
    # the original is unchanged
    assert str(url) == "http://example.org/a?x=1#f"


def test_url_replace_netloc_parts() -> None:
    url = URL("http://user:pw@example.org:8000/p")
    assert url.replace(port=9000) == "http://user:pw@example.org:9000/p"
    assert url.replace(port=None) == "http://user:pw@example.org/p"
    assert url.replace(hostname="other") == "http://user:pw@other:8000/p"
    assert url.replace(username="bob") == "http://bob:pw@example.org:8000/p"
    assert url.replace(password=None) == "http://user@example.org:8000/p"
    assert url.replace(username=None) == "http://example.org:8000/p"
    assert URL("http://example.org/p").replace(port=81) == "http://example.org:81/p"
    assert URL("http://example.org/p").replace(username="u") == "http://u@example.org/p"
    assert URL("http://:81/p").replace(username="u") == "http://u@:81/p"


def test_url_replace_ipv6() -> None:
    url = URL("http://[::1]/p")
    assert url.hostname == "::1"
    assert url.replace(port=8080) == "http://[::1]:8080/p"
    assert URL("http://[::1]:80/p").replace(port=81) == "http://[::1]:81/p"
    assert URL("http://example.org/p").replace(hostname="::1") == "http://[::1]/p"
    assert URL("http://example.org/p").replace(hostname="[::2]") == "http://[::2]/p"


def test_url_query_param_helpers() -> None:
    url = URL("http://a/p?x=1&y=2&x=3&empty=")
    assert url.include_query_params(x=9, z="a b") == "http://a/p?y=2&empty=&x=9&z=a+b"
    assert url.replace_query_params(k="v", n=1) == "http://a/p?k=v&n=1"
    assert url.remove_query_params("x") == "http://a/p?y=2&empty="
    assert url.remove_query_params(["x", "empty"]) == "http://a/p?y=2"
    assert url.remove_query_params(("nope",)) == "http://a/p?x=1&y=2&x=3&empty="


def test_url_equality_and_hash() -> None:
    url = URL("http://a/p")
    assert url == "http://a/p"
    assert url == URL("http://a/p")
    assert url != "http://a/q"
    assert url != 42
    assert (url == 42) is False
    assert {url: 1}[URL("http://a/p")] == 1
    assert hash(url) == hash("http://a/p")


def test_url_str_and_repr_mask_password() -> None:
    url = URL("https://user:hunter2@example.org/")
    assert str(url) == "https://user:hunter2@example.org/"
    assert "hunter2" not in repr(url)
    assert repr(url) == "URL('https://user:********@example.org/')"
    assert repr(URL("http://a/")) == "URL('http://a/')"


def test_url_malformed_components_raise_value_error() -> None:
    with pytest.raises(ValueError):
        _ = URL("http://[::1/").path
    with pytest.raises(ValueError):
        _ = URL("http://a:notaport/").port


# --- URL(scope=...) -------------------------------------------------------------------


def test_url_from_scope_uses_host_header() -> None:
    scope = make_scope(
        path="/users",
        query_string=b"page=2",
        headers=[(b"accept", b"*/*"), (b"host", b"example.org:8000")],
    )
    url = URL(scope=scope)
    assert str(url) == "http://example.org:8000/users?page=2"
    assert url.port == 8000


def test_url_from_scope_falls_back_to_server() -> None:
    assert URL(scope=make_scope(path="/x")) == "http://testserver/x"
    assert URL(scope=make_scope(server=("10.0.0.1", 8000))) == "http://10.0.0.1:8000/"
    assert URL(scope=make_scope(scheme="https", server=("h", 443))) == "https://h/"
    assert URL(scope=make_scope(scheme="wss", server=("h", 443))) == "wss://h/"
    assert URL(scope=make_scope(scheme="ws", server=("h", 80))) == "ws://h/"
    assert URL(scope=make_scope(scheme="ws", server=("h", 443))) == "ws://h:443/"


def test_url_from_scope_ipv6_server() -> None:
    url = URL(scope=make_scope(server=("::1", 8000)))
    assert str(url) == "http://[::1]:8000/"
    assert url.hostname == "::1"
    assert url.port == 8000


def test_url_from_scope_without_authority_is_relative() -> None:
    assert URL(scope=make_scope(server=None, path="/p", query_string=b"a=1")) == "/p?a=1"
    # a unix socket server: (path, None)
    assert URL(scope=make_scope(server=("/tmp/app.sock", None), path="/p")) == "/p"
    assert URL(scope=make_scope(server=None, path="")) == ""
    # a server host that is not a host is not used either
    assert URL(scope=make_scope(server=("bad host", 80), path="/p")) == "/p"


def test_url_from_scope_minimal_scope() -> None:
    assert URL(scope={"type": "http", "path": "/p"}) == "/p"


def test_url_from_scope_scheme_without_default_port() -> None:
    assert URL(scope=make_scope(scheme="gopher", server=("h", 70))) == "gopher://h:70/"


def test_url_from_scope_root_path() -> None:
    # modern servers: path includes root_path
    scope = make_scope(root_path="/api", path="/api/users")
    assert URL(scope=scope).path == "/api/users"
    # older servers: path without root_path
    scope = make_scope(root_path="/api", path="/users")
    assert URL(scope=scope).path == "/api/users"


@pytest.mark.parametrize(
    "host",
    [
        "evil.com/path",
        "evil.com?q",
        "evil.com#f",
        "user@evil.com",
        "good.com@evil.com",
        "evil.com ",
        " evil.com",
        "evil .com",
        "evil.com\r\nx: y",
        "evil.com:99999",
        "evil.com:80:80",
        "evil.com:-1",
        "[::1",
        "::1",
        "[:::::]",
        "[zz::1]",
        "[::1]x",
        "",
        "évil.com",
        "evil.com\\x",
        "evil.com%zz",
        "[V1.foo]",
    ],
)
def test_url_from_scope_refuses_malformed_host_header(host: str) -> None:
    scope = make_scope(path="/p", headers=[(b"host", host.encode("latin-1"))])
    url = URL(scope=scope)
    assert str(url) == "http://testserver/p"
    assert url.hostname == "testserver"


@pytest.mark.parametrize(
    ("host", "hostname", "port"),
    [
        ("example.org", "example.org", None),
        ("Example.ORG:8080", "example.org", 8080),
        ("127.0.0.1:65535", "127.0.0.1", 65535),
        ("[::1]", "::1", None),
        ("[2001:db8::1]:443", "2001:db8::1", 443),
        ("[::ffff:1.2.3.4]", "::ffff:1.2.3.4", None),
        ("my_host-1.local", "my_host-1.local", None),
        # One grammar with asgi_core.hosts (RFC 3986): the value is kept as given.
        ("host:000080", "host", 80),
        ("host:", "host", None),
        ("[v1.foo]", "v1.foo", None),
        ("[v1.foo]:8000", "v1.foo", 8000),
        ("evil.com%2f", "evil.com%2f", None),
    ],
)
def test_url_from_scope_accepts_valid_host_header(
    host: str, hostname: str, port: int | None
) -> None:
    url = URL(scope=make_scope(path="/p", headers=[(b"host", host.encode())]))
    assert str(url) == f"http://{host}/p"
    assert url.hostname == hostname
    assert url.port == port


def test_url_from_scope_uses_first_host_header() -> None:
    scope = make_scope(headers=[(b"host", b"first"), (b"host", b"second")])
    assert URL(scope=scope).hostname == "first"


@pytest.mark.parametrize(
    "path",
    ["@evil.com/x", ".evil.com/x", ":8080/x", "evil.com", "http://evil.com/x", "*"],
)
def test_url_from_scope_path_never_moves_authority(path: str) -> None:
    url = URL(scope=make_scope(path=path, headers=[(b"host", b"good.com")]))
    assert url.hostname == "good.com"
    assert url.netloc == "good.com"
    assert url.path == "/" + path


@pytest.mark.parametrize(
    ("path", "expected"),
    [("//evil.com/x", "/evil.com/x"), ("/\\evil.com", "/evil.com"), ("evil.com", "/evil.com")],
)
def test_url_relative_from_scope_never_reads_as_another_host(path: str, expected: str) -> None:
    url = URL(scope=make_scope(server=None, path=path))
    assert url.netloc == ""
    assert url.path == expected


def test_url_from_scope_double_slash_path_keeps_host() -> None:
    url = URL(scope=make_scope(path="//evil.com/x"))
    assert url.netloc == "testserver"
    assert url.path == "//evil.com/x"


def test_url_from_scope_escapes_query_and_fragment_characters_in_path() -> None:
    url = URL(scope=make_scope(path="/a?b#c", query_string=b"q=1"))
    assert url.path == "/a%3Fb%23c"
    assert url.query == "q=1"
    assert url.fragment == ""


def test_url_from_scope_escapes_characters_url_parsers_drop() -> None:
    url = URL(scope=make_scope(path="/a\tb\r\nc d"))
    assert url.path == "/a%09b%0D%0Ac d"
    # a relative URL cannot be turned into "//host" by a dropped newline
    url = URL(scope=make_scope(server=None, path="\n/evil.com"))
    assert url.netloc == ""
    assert str(url) == "/%0A/evil.com"


def test_url_from_scope_query_string_encoding() -> None:
    url = URL(scope=make_scope(query_string=b"a=%C3%A9&b=#x"))
    assert url.query == "a=%C3%A9&b=%23x"
    assert url.fragment == ""
    # raw non-ASCII bytes are percent-encoded instead of failing to decode
    url = URL(scope=make_scope(query_string=b"a=\xc3\xa9&b=\xff #"))
    assert url.query == "a=%C3%A9&b=%FF%20%23"
    assert QueryParams(url.query) == QueryParams([("a", "é"), ("b", "\ufffd #")])
    url = URL(scope=make_scope(query_string=b"a=1\r\n&b=\x7f"))
    assert url.query == "a=1%0D%0A&b=%7F"


def test_url_from_scope_headers_as_tuple_iterable() -> None:
    scope = make_scope()
    scope["headers"] = ((b"host", b"example.org"),)
    assert URL(scope=scope).hostname == "example.org"


# --- URLPath --------------------------------------------------------------------------


def test_urlpath_is_a_str() -> None:
    path = URLPath("/users/1")
    assert path == "/users/1"
    assert isinstance(path, str)
    assert path.protocol == ""
    assert path.host == ""


def test_urlpath_keyword_arguments() -> None:
    path = URLPath(path="/ws", protocol="websocket", host="example.org")
    assert path == "/ws"
    assert (path.protocol, path.host) == ("websocket", "example.org")
    assert path.make_absolute_url("https://other/") == "wss://example.org/ws"


def test_urlpath_rejects_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="protocol"):
        URLPath("/", protocol="ftp")


@pytest.mark.parametrize(
    ("protocol", "base", "expected"),
    [
        ("", "http://example.org", "http://example.org/x"),
        ("", "https://example.org/root/", "https://example.org/root/x"),
        ("http", "http://example.org", "http://example.org/x"),
        ("http", "https://example.org", "https://example.org/x"),
        ("http", "ws://example.org", "http://example.org/x"),
        ("websocket", "http://example.org", "ws://example.org/x"),
        ("websocket", "https://example.org", "wss://example.org/x"),
    ],
)
def test_urlpath_make_absolute_url(protocol: str, base: str, expected: str) -> None:
    path = URLPath("/x", protocol=protocol)
    assert path.make_absolute_url(base) == expected
    assert path.make_absolute_url(URL(base)) == expected


def test_urlpath_make_absolute_url_with_host() -> None:
    path = URLPath("/x", protocol="http", host="api.example.org")
    assert path.make_absolute_url("https://example.org:8000") == "https://api.example.org/x"


# --- Secret, Address, State, CommaSeparatedStrings -------------------------------------


def test_secret_hides_its_value_in_repr() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "hunter2"
    assert bool(secret)
    assert not Secret("")


def test_address() -> None:
    address = Address("127.0.0.1", 8000)
    host, port = address
    assert (host, port) == ("127.0.0.1", 8000)
    assert address.host == "127.0.0.1"
    assert address.port == 8000
    assert address == ("127.0.0.1", 8000)


def test_state_attribute_bag() -> None:
    backing: dict[str, Any] = {"existing": 1}
    state = State(backing)
    assert state.existing == 1
    state.db = "connection"
    assert backing["db"] == "connection"
    assert state.db == "connection"
    del state.db
    assert "db" not in backing
    with pytest.raises(AttributeError, match="'State' object has no attribute 'db'"):
        _ = state.db
    with pytest.raises(AttributeError, match="no attribute 'db'"):
        del state.db
    assert not hasattr(state, "missing")


def test_state_item_access_is_the_same_entry_as_the_attribute() -> None:
    backing: dict[str, Any] = {}
    state = State(backing)
    state["db"] = "connection"
    assert state.db == "connection"
    assert backing == {"db": "connection"}
    state.count = 1
    assert state["count"] == 1
    assert "count" in state
    assert "other" not in state
    assert list(state) == ["db", "count"]
    assert len(state) == 2
    del state["db"]
    assert backing == {"count": 1}
    with pytest.raises(KeyError, match="db"):
        _ = state["db"]
    with pytest.raises(KeyError, match="db"):
        del state["db"]
    with pytest.raises(AttributeError):
        _ = state.db


def test_state_defaults_to_empty_and_copies() -> None:
    state = State()
    state.x = 1
    assert State().__dict__["_state"] == {}
    clone = copy.copy(state)
    assert clone.x == 1


def test_comma_separated_strings_from_str() -> None:
    items = CommaSeparatedStrings("localhost, 127.0.0.1,example.org")
    assert list(items) == ["localhost", "127.0.0.1", "example.org"]
    assert len(items) == 3
    assert items[0] == "localhost"
    assert items[1:] == ["127.0.0.1", "example.org"]
    assert repr(items) == "CommaSeparatedStrings(['localhost', '127.0.0.1', 'example.org'])"


def test_comma_separated_strings_quotes_and_blanks() -> None:
    items = CommaSeparatedStrings("'a, b', \"c\", #fff,, ,d")
    assert list(items) == ["a, b", "c", "#fff", "d"]
    assert list(CommaSeparatedStrings("")) == []


def test_comma_separated_strings_unbalanced_quote_is_value_error() -> None:
    with pytest.raises(ValueError):
        CommaSeparatedStrings("'open")


def test_comma_separated_strings_from_sequence_and_str_round_trip() -> None:
    items = CommaSeparatedStrings(["plain", "with, comma", 'q"uote', "back\\slash", "it's"])
    assert len(items) == 5
    # Each item is quoted with its repr(), as Starlette writes it.
    assert str(items) == ("'plain', 'with, comma', 'q\"uote', 'back\\\\slash', \"it's\"")
    first = CommaSeparatedStrings(items[:3])
    assert list(CommaSeparatedStrings(str(first))) == list(first)
    assert list(CommaSeparatedStrings(str(CommaSeparatedStrings(items[4:])))) == ["it's"]
    assert str(CommaSeparatedStrings(["a", " b "])) == "'a', ' b '"


# --- ImmutableMultiDict / MultiDict -----------------------------------------------------


def test_immutable_multidict_basics() -> None:
    d = ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d["a"] == "3"
    assert d.getlist("a") == ["1", "3"]
    assert d.getlist("missing") == []
    assert d.get("missing") is None
    assert list(d.keys()) == ["a", "b"]
    assert list(d.values()) == ["3", "2"]
    assert list(d.items()) == [("a", "3"), ("b", "2")]
    assert d.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert "a" in d
    assert "z" not in d
    assert list(d) == ["a", "b"]
    assert len(d) == 2
    assert repr(d) == "ImmutableMultiDict([('a', '1'), ('b', '2'), ('a', '3')])"
    with pytest.raises(KeyError):
        d["z"]


def test_immutable_multidict_constructors() -> None:
    assert ImmutableMultiDict().multi_items() == []
    assert ImmutableMultiDict({"a": 1}).multi_items() == [("a", 1)]
    base = ImmutableMultiDict([("a", 1), ("a", 2)])
    assert ImmutableMultiDict(base).multi_items() == [("a", 1), ("a", 2)]
    assert ImmutableMultiDict(base, b=3).multi_items() == [("a", 1), ("a", 2), ("b", 3)]
    assert ImmutableMultiDict(b=3).multi_items() == [("b", 3)]
    assert ImmutableMultiDict(iter([("x", 1)])).multi_items() == [("x", 1)]
    with pytest.raises(TypeError, match="at most one"):
        ImmutableMultiDict([], [])


def test_immutable_multidict_equality() -> None:
    a = ImmutableMultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert a == ImmutableMultiDict([("b", "2"), ("a", "1"), ("a", "3")])
    assert a != ImmutableMultiDict([("a", "3"), ("b", "2"), ("a", "1")])
    assert a != ImmutableMultiDict([("a", "3"), ("b", "2")])
    assert a != {"a": "3", "b": "2"}
    with pytest.raises(TypeError):
        hash(a)


def test_multidict_setitem_and_delitem() -> None:
    d = MultiDict([("a", 1), ("a", 2), ("b", 3)])
    d["a"] = 9
    assert d.multi_items() == [("b", 3), ("a", 9)]
    d["c"] = 4
    del d["b"]
    assert d.multi_items() == [("a", 9), ("c", 4)]
    with pytest.raises(KeyError):
        del d["b"]


def test_multidict_pop_popitem_poplist() -> None:
    d = MultiDict([("a", 1), ("a", 2), ("b", 3)])
    assert d.pop("a") == 2
    assert d.multi_items() == [("b", 3)]
    assert d.pop("a", "default") == "default"
    assert d.pop("a") is None
    assert d.popitem() == ("b", 3)
    assert d.multi_items() == []
    with pytest.raises(KeyError):
        d.popitem()
    d = MultiDict([("a", 1), ("b", 3), ("a", 2)])
    assert d.poplist("a") == [1, 2]
    assert d.multi_items() == [("b", 3)]
    assert d.poplist("a") == []


def test_multidict_clear_setdefault_setlist_append() -> None:
    d = MultiDict([("a", 1)])
    assert d.setdefault("a", 5) == 1
    assert d.setdefault("b", 5) == 5
    assert d.setdefault("c") is None
    assert d.multi_items() == [("a", 1), ("b", 5), ("c", None)]
    d.setlist("a", [7, 8])
    assert d.getlist("a") == [7, 8]
    assert d["a"] == 8
    d.setlist("a", [])
    assert "a" not in d
    assert d.getlist("a") == []
    d.append("b", 6)
    assert d.getlist("b") == [5, 6]
    assert d["b"] == 6
    d.clear()
    assert len(d) == 0
    assert d.multi_items() == []


def test_multidict_update() -> None:
    d = MultiDict([("a", 1), ("a", 2), ("b", 3)])
    d.update([("a", 9), ("a", 10)], c=4)
    assert d.multi_items() == [("b", 3), ("a", 9), ("a", 10), ("c", 4)]
    assert d["a"] == 10
    d.update({"b": 0})
    assert d.multi_items() == [("a", 9), ("a", 10), ("c", 4), ("b", 0)]
    d.update()
    assert len(d.multi_items()) == 4


def test_multidict_copies_its_input() -> None:
    source = [("a", 1)]
    d = MultiDict(source)
    d.append("b", 2)
    assert source == [("a", 1)]


# --- QueryParams ------------------------------------------------------------------------


def test_query_params_from_str() -> None:
    q = QueryParams("a=1&a=2&b=&c&d=x+y&e=%20%2B")
    assert q["a"] == "2"
    assert q.getlist("a") == ["1", "2"]
    assert q["b"] == ""
    assert q["c"] == ""
    assert q["d"] == "x y"
    assert q["e"] == " +"
    assert str(q) == "a=1&a=2&b=&c=&d=x+y&e=+%2B"
    assert repr(q) == "QueryParams('a=1&a=2&b=&c=&d=x+y&e=+%2B')"


def test_query_params_never_raises_on_bad_input() -> None:
    q = QueryParams("a=%zz&b=%ff&c=%&d=%C3%A9&&;x=1")
    assert q["a"] == "%zz"
    assert q["b"] == "\ufffd"
    assert q["c"] == "%"
    assert q["d"] == "é"
    assert q[";x"] == "1"


@pytest.mark.parametrize(
    "value", [b"a=\xc3\xa9&b=%C3%A9&c=\xff", bytearray(b"a=\xc3\xa9&b=%C3%A9&c=\xff")]
)
def test_query_params_from_bytes(value: bytes) -> None:
    q = QueryParams(value)
    assert q.multi_items() == [("a", "é"), ("b", "é"), ("c", "\ufffd")]
    assert QueryParams(memoryview(b"x=1"))["x"] == "1"
    # raw bytes read exactly like their percent-encoded form
    assert QueryParams(b"a=%C3\xa9") == QueryParams("a=%C3%A9")


def test_query_params_from_pairs_and_mappings() -> None:
    assert QueryParams().multi_items() == []
    assert QueryParams({"a": 1, "b": "x"}).multi_items() == [("a", "1"), ("b", "x")]
    assert QueryParams([("a", "1"), ("a", "2")]).getlist("a") == ["1", "2"]
    assert QueryParams(QueryParams("a=1&a=2")).getlist("a") == ["1", "2"]
    assert QueryParams(MultiDict([("n", 1)]))["n"] == "1"
    assert QueryParams("a=1", b=2).multi_items() == [("a", "1"), ("b", "2")]
    assert str(QueryParams(q="a&b=c")) == "q=a%26b%3Dc"
    with pytest.raises(TypeError, match="at most one"):
        QueryParams("a", "b")


def test_query_params_equality() -> None:
    assert QueryParams("a=1&b=2") == QueryParams([("b", "2"), ("a", "1")])
    assert QueryParams("a=1") != QueryParams("a=2")


def test_query_params_str_never_raises_on_surrogates() -> None:
    q = QueryParams([("k", "\udcff")])
    assert str(q) == "k=%ED%B3%BF"


# --- Headers ----------------------------------------------------------------------------


def test_headers_from_mapping() -> None:
    h = Headers({"Content-Type": "text/plain", "X-Thing": "é"})
    assert h["content-type"] == "text/plain"
    assert h["CONTENT-TYPE"] == "text/plain"
    assert h["x-thing"] == "é"
    assert h.raw == [(b"content-type", b"text/plain"), (b"x-thing", b"\xe9")]
    assert h.keys() == ["content-type", "x-thing"]
    assert h.values() == ["text/plain", "é"]
    assert h.items() == [("content-type", "text/plain"), ("x-thing", "é")]
    assert list(h) == ["content-type", "x-thing"]
    assert len(h) == 2
    assert h.get("missing") is None
    assert h.get("missing", "d") == "d"
    with pytest.raises(KeyError):
        h["missing"]


def test_headers_empty() -> None:
    h = Headers()
    assert h.raw == []
    assert len(h) == 0
    assert repr(h) == "Headers({})"


def test_headers_multi_valued_raw() -> None:
    raw = [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x", b"\xff")]
    h = Headers(raw=raw)
    assert h.raw is raw
    assert h["set-cookie"] == "a=1"
    assert h.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert h.getlist("missing") == []
    assert h["x"] == "\xff"
    assert len(h) == 3
    assert list(h) == ["set-cookie", "set-cookie", "x"]
    assert repr(h) == f"Headers(raw={raw!r})"


def test_headers_contains() -> None:
    h = Headers({"a": "1"})
    assert "a" in h
    assert "A" in h
    assert "b" not in h
    assert 1 not in h
    assert "€" not in h


def test_headers_non_latin1_lookup_is_simply_missing() -> None:
    h = Headers({"a": "1"})
    with pytest.raises(KeyError):
        h["€"]
    assert h.getlist("€") == []
    assert h.get("€") is None


def test_headers_from_scope_shares_the_list() -> None:
    headers = [(b"host", b"example.org")]
    scope = make_scope()
    scope["headers"] = headers
    h = Headers(scope=scope)
    assert h.raw is headers
    assert h["host"] == "example.org"


def test_headers_from_scope_with_tuple_or_missing_headers() -> None:
    scope: dict[str, Any] = {"type": "http", "headers": ((b"a", b"1"),)}
    h = Headers(scope=scope)
    assert h["a"] == "1"
    assert scope["headers"] == [(b"a", b"1")]
    scope = {"type": "lifespan"}
    assert len(Headers(scope=scope)) == 0
    assert scope["headers"] == []


def test_headers_takes_one_source() -> None:
    with pytest.raises(TypeError, match="at most one"):
        Headers({"a": "1"}, raw=[])
    with pytest.raises(TypeError, match="at most one"):
        Headers(raw=[], scope=make_scope())


def test_headers_equality() -> None:
    a = Headers(raw=[(b"a", b"1"), (b"b", b"2")])
    assert a == Headers(raw=[(b"b", b"2"), (b"a", b"1")])
    assert a == Headers({"A": "1", "B": "2"})
    assert a != Headers(raw=[(b"a", b"1")])
    assert a != {"a": "1", "b": "2"}
    # list pairs (as some servers send them) compare equal to tuples
    assert Headers(raw=[[b"a", b"1"]]) == Headers(raw=[(b"a", b"1")])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        hash(a)


def test_headers_mutablecopy_is_independent() -> None:
    h = Headers({"a": "1"})
    m = h.mutablecopy()
    assert isinstance(m, MutableHeaders)
    m["a"] = "2"
    assert h["a"] == "1"
    assert m["a"] == "2"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("x", "a\r\nSet-Cookie: evil=1"),
        ("x", "a\nb"),
        ("x", "a\rb"),
        ("x", "a\0b"),
        ("x\r\ny", "v"),
        ("x\0", "v"),
    ],
)
def test_headers_refuse_injection(key: str, value: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Headers({key: value})
    m = MutableHeaders()
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        m[key] = value
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        m.append(key, value)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        m.setdefault(key, value)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        m.update({key: value})
    assert m.raw == []


def test_headers_refuse_non_latin1() -> None:
    with pytest.raises(ValueError, match=r"value .* latin-1"):
        Headers({"x": "€"})
    with pytest.raises(ValueError, match=r"name .* latin-1"):
        MutableHeaders()["€"] = "x"


# --- MutableHeaders ---------------------------------------------------------------------


def test_mutable_headers_setitem_replaces_all_values() -> None:
    m = MutableHeaders(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3"), (b"a", b"4")])
    m["A"] = "9"
    assert m.raw == [(b"a", b"9"), (b"b", b"2")]
    m["c"] = "new"
    assert m.raw == [(b"a", b"9"), (b"b", b"2"), (b"c", b"new")]


def test_mutable_headers_delitem() -> None:
    m = MutableHeaders(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    del m["A"]
    assert m.raw == [(b"b", b"2")]
    del m["missing"]
    del m["€"]
    assert m.raw == [(b"b", b"2")]


def test_mutable_headers_setdefault() -> None:
    m = MutableHeaders({"a": "1"})
    assert m.setdefault("A", "2") == "1"
    assert m.setdefault("b", "3") == "3"
    assert m.raw == [(b"a", b"1"), (b"b", b"3")]


def test_mutable_headers_update_and_append() -> None:
    m = MutableHeaders(raw=[(b"a", b"1"), (b"a", b"2")])
    m.update({"A": "x", "b": "y"})
    assert m.raw == [(b"a", b"x"), (b"b", b"y")]
    m.update([("c", "z")])
    m.append("c", "w")
    assert m.getlist("c") == ["z", "w"]


def test_mutable_headers_or_operators() -> None:
    m = MutableHeaders({"a": "1"})
    combined = m | {"b": "2"}
    assert combined.raw == [(b"a", b"1"), (b"b", b"2")]
    assert m.raw == [(b"a", b"1")]
    same = m
    m |= {"a": "3", "c": "4"}
    assert m is same
    assert m.raw == [(b"a", b"3"), (b"c", b"4")]
    m |= Headers({"d": "5"})
    assert m["d"] == "5"
    with pytest.raises(TypeError):
        m | [("x", "y")]  # type: ignore[operator]
    with pytest.raises(TypeError):
        m |= [("x", "y")]  # type: ignore[arg-type]


def test_mutable_headers_add_vary_header() -> None:
    m = MutableHeaders()
    m.add_vary_header("Origin")
    assert m["vary"] == "Origin"
    m.add_vary_header("Accept-Encoding")
    assert m["vary"] == "Origin, Accept-Encoding"
    m.add_vary_header("origin, Cookie")
    assert m["vary"] == "Origin, Accept-Encoding, Cookie"
    m.append("vary", "User-Agent")
    m.add_vary_header("Accept")
    assert m.getlist("vary") == ["Origin, Accept-Encoding, Cookie, User-Agent, Accept"]
    m.add_vary_header("*")
    assert m["vary"] == "*"
    m.add_vary_header("Origin")
    assert m["vary"] == "*"


def test_mutable_headers_from_scope_edit_the_scope() -> None:
    scope: dict[str, Any] = {"type": "http", "headers": ((b"a", b"1"),)}
    m = MutableHeaders(scope=scope)
    m["b"] = "2"
    m.append("c", "3")
    del m["a"]
    assert scope["headers"] == [(b"b", b"2"), (b"c", b"3")]
    assert scope["headers"] is m.raw
    m.append("b", "4")
    m["b"] = "5"
    assert scope["headers"] is m.raw
    assert scope["headers"] == [(b"b", b"5"), (b"c", b"3")]
    assert Headers(scope=scope)["b"] == "5"


def test_mutable_headers_repr() -> None:
    m = MutableHeaders({"a": "1"})
    assert repr(m) == "MutableHeaders({'a': '1'})"


# --- UploadFile and FormData ------------------------------------------------------------


def test_upload_file_attributes() -> None:
    upload = UploadFile(
        io.BytesIO(b"data"),
        size=4,
        filename="a.txt",
        headers=Headers({"content-type": "text/plain"}),
    )
    assert upload.filename == "a.txt"
    assert upload.size == 4
    assert upload.content_type == "text/plain"
    assert repr(upload) == (
        "UploadFile(filename='a.txt', size=4, headers=Headers({'content-type': 'text/plain'}))"
    )
    bare = UploadFile(io.BytesIO())
    assert bare.filename is None
    assert bare.size is None
    assert bare.content_type is None
    assert bare.headers == Headers()


@pytest.mark.anyio
async def test_upload_file_in_memory() -> None:
    upload = UploadFile(io.BytesIO(), size=0, filename="f")
    await upload.write(b"hello ")
    await upload.write(b"world")
    assert upload.size == 11
    await upload.seek(0)
    assert await upload.read(5) == b"hello"
    assert await upload.read() == b" world"
    await upload.close()
    assert upload.file.closed


@pytest.mark.anyio
async def test_upload_file_without_size_does_not_track() -> None:
    upload = UploadFile(io.BytesIO())
    await upload.write(b"abc")
    assert upload.size is None


@pytest.mark.anyio
async def test_upload_file_spooled_in_memory_and_rolled_over() -> None:
    spooled = tempfile.SpooledTemporaryFile(max_size=10)  # noqa: SIM115
    upload = UploadFile(spooled, size=0)  # type: ignore[arg-type]
    await upload.write(b"12345")
    assert not spooled._rolled  # type: ignore[attr-defined]
    await upload.seek(0)
    assert await upload.read() == b"12345"
    await upload.write(b"67890abcdef")
    assert spooled._rolled  # type: ignore[attr-defined]
    assert upload.size == 16
    await upload.seek(0)
    assert await upload.read(3) == b"123"
    assert await upload.read() == b"4567890abcdef"
    await upload.close()
    assert spooled.closed


@pytest.mark.anyio
async def test_upload_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    with path.open("w+b") as file:
        upload = UploadFile(file, size=0, filename="upload.bin")
        await upload.write(b"on disk")
        await upload.seek(3)
        assert await upload.read() == b"disk"
        await upload.close()
        assert file.closed
    assert path.read_bytes() == b"on disk"
    assert upload.size == 7


class ThreadRecordingBytesIO(io.BytesIO):
    """An in-memory file that records which thread each write ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def write(self, data: Any) -> int:
        self.threads.append(threading.get_ident())
        return super().write(data)


class ThreadRecordingFileIO(io.FileIO):
    """A real on-disk file that records which thread each write ran in."""

    threads: list[int]

    def write(self, data: Any) -> int:
        self.threads.append(threading.get_ident())
        return super().write(data)


@pytest.mark.anyio
async def test_upload_file_in_memory_stays_on_the_event_loop_thread() -> None:
    memory = ThreadRecordingBytesIO()
    await UploadFile(memory).write(b"x")
    assert memory.threads == [threading.get_ident()]


@pytest.mark.anyio
async def test_upload_file_on_disk_uses_a_worker_thread(tmp_path: Path) -> None:
    with ThreadRecordingFileIO(tmp_path / "f.bin", "w+") as disk:
        disk.threads = []
        await UploadFile(disk).write(b"x")  # type: ignore[arg-type]
        assert len(disk.threads) == 1
        assert disk.threads[0] != threading.get_ident()
    assert (tmp_path / "f.bin").read_bytes() == b"x"


@pytest.mark.anyio
async def test_form_data_close_closes_uploads() -> None:
    first = UploadFile(io.BytesIO(b"1"), filename="1")
    second = UploadFile(io.BytesIO(b"2"), filename="2")
    form = FormData([("file", first), ("name", "value"), ("file", second)])
    assert form["name"] == "value"
    assert form.getlist("file") == [first, second]
    await form.close()
    assert first.file.closed
    assert second.file.closed


def test_form_data_constructors() -> None:
    assert FormData().multi_items() == []
    assert FormData({"a": "1"}, b="2").multi_items() == [("a", "1"), ("b", "2")]
    assert FormData(FormData([("a", "1")])) == FormData(a="1")


# --- find_header ------------------------------------------------------------------------


def test_find_header_returns_the_first_value() -> None:
    raw = [(b"accept", b"a"), (b"host", b"one"), (b"host", b"two")]
    assert find_header(raw, b"host") == b"one"
    assert find_header(iter(raw), b"accept") == b"a"
    assert find_header(raw, b"cookie") is None
    assert find_header([], b"host") is None
    # names are compared as given: ASGI header names are lower case
    assert find_header([(b"Host", b"x")], b"host") is None


# --- URL.replace(hostname=...) and repr ---------------------------------------------------


def test_replace_hostname_with_a_colon_keeps_it_as_given() -> None:
    url = URL("http://example.com:8000/p")
    assert str(url.replace(hostname="host:port", port=None)) == "http://host:port/p"
    assert repr(url.replace(hostname="host:port", port=None)) == "URL('http://host:port/p')"
    assert str(url.replace(hostname="h:81")) == "http://h:81:8000/p"
    # a bare IPv6 address still gets its brackets
    assert str(url.replace(hostname="::1")) == "http://[::1]:8000/p"
    assert str(url.replace(hostname="fe80::1%eth0", port=None)) == "http://[fe80::1%eth0]/p"
    assert url.replace(hostname="::1").hostname == "::1"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@host:port/p", "http://u:********@host:port/p"),
        ("http://u:pw@[bad/p", "http://u:********@[bad/p"),
        ("//u:pw@example.com", "//u:********@example.com"),
        ("http://a:b@c@example.com:1/?q#f", "http://a:********@example.com:1/?q#f"),
        ("http://u@example.com/", "http://u@example.com/"),
        ("http://u:@example.com/", "http://u:@example.com/"),
        ("http://example.com/a//u:p@y", "http://example.com/a//u:p@y"),
        ("mailto:a:b@c", "mailto:a:b@c"),
        ("/path", "/path"),
    ],
)
def test_repr_masks_the_password_and_never_raises(url: str, shown: str) -> None:
    assert repr(URL(url)) == f"URL({shown!r})"


def test_ipvfuture_and_zero_padded_ports_from_the_host_header() -> None:
    for host, hostname, port in [
        ("[v1.foo]", "v1.foo", None),
        ("[v1.foo]:8080", "v1.foo", 8080),
        ("example.com:000080", "example.com", 80),
    ]:
        url = URL(scope=make_scope("GET", "/x", [("host", host)], server=("srv", 80)))
        assert str(url) == f"http://{host}/x"
        assert (url.hostname, url.port) == (hostname, port)

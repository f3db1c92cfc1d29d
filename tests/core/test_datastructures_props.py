"""Property tests for asgi_core.datastructures (hypothesis)."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import urlsplit

from asgi_driver import make_scope
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_core.datastructures import (
    URL,
    CommaSeparatedStrings,
    Headers,
    MultiDict,
    MutableHeaders,
    QueryParams,
)

pairs = st.lists(st.tuples(st.text(), st.text()), max_size=10)
token = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1)
# What a header value may hold: latin-1 without control characters (HTAB allowed).
_CONTROLS = "".join(chr(code) for code in [*range(0x09), *range(0x0A, 0x20), 0x7F])
latin1_value = st.text(
    alphabet=st.characters(max_codepoint=0xFF, exclude_characters=_CONTROLS), max_size=20
)
any_header_bytes = st.binary(max_size=30)


def scope_with(host: bytes | None = None, path: str = "/", query: bytes = b"") -> dict[str, Any]:
    headers = [] if host is None else [(b"host", host)]
    return make_scope(path=path, headers=headers, query_string=query)


# --- QueryParams ------------------------------------------------------------------------


@given(pairs)
def test_query_params_round_trip(items: list[tuple[str, str]]) -> None:
    encoded = str(QueryParams(items))
    assert QueryParams(encoded).multi_items() == items
    assert QueryParams(encoded.encode("ascii")).multi_items() == items


@given(st.text())
def test_query_params_from_any_text_is_stable(text: str) -> None:
    params = QueryParams(text)
    again = QueryParams(str(params))
    assert again.multi_items() == params.multi_items()


@given(st.binary())
def test_query_params_from_any_bytes_never_raises(data: bytes) -> None:
    params = QueryParams(data)
    for key, value in params.multi_items():
        assert isinstance(key, str)
        assert isinstance(value, str)
    assert QueryParams(str(params)) == params


@given(pairs)
def test_multidict_matches_a_list_model(items: list[tuple[str, str]]) -> None:
    d = MultiDict(items)
    for key in {key for key, _ in items}:
        values = [value for k, value in items if k == key]
        assert d.getlist(key) == values
        assert d[key] == values[-1]
    assert len(d) == len({key for key, _ in items})
    assert d.multi_items() == items


# --- Headers ----------------------------------------------------------------------------


@given(st.dictionaries(token, latin1_value, max_size=8))
def test_headers_case_insensitive(mapping: dict[str, str]) -> None:
    lowered = {key.lower(): value for key, value in mapping.items()}
    headers = Headers(lowered)
    for key, value in lowered.items():
        assert headers[key.upper()] == value
        assert headers[key.swapcase()] == value
        assert key.title() in headers
        assert headers.getlist(key.upper()) == [value]
    assert dict(headers.items()) == lowered


@given(st.lists(st.tuples(token.map(str.lower), latin1_value), max_size=8))
def test_headers_raw_preserved(items: list[tuple[str, str]]) -> None:
    raw = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in items]
    headers = Headers(raw=raw)
    assert headers.raw == raw
    assert headers.items() == items
    assert len(headers) == len(items)
    for key in {key for key, _ in items}:
        assert headers.getlist(key.upper()) == [v for k, v in items if k == key]
    copy = headers.mutablecopy()
    assert copy == headers
    assert copy.raw == raw
    assert copy.raw is not raw


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5))
def test_headers_from_any_text_raise_only_value_error(mapping: dict[str, str]) -> None:
    try:
        headers = Headers(mapping)
    except ValueError:
        return
    for key, value in mapping.items():
        assert value in headers.getlist(key)
    for raw_key, raw_value in headers.raw:
        for forbidden in _CONTROLS.encode("latin-1"):
            assert forbidden not in raw_key
            assert forbidden not in raw_value


@given(st.text(max_size=10), st.text(max_size=10))
def test_mutable_headers_set_any_text_raises_only_value_error(key: str, value: str) -> None:
    headers = MutableHeaders()
    try:
        headers[key] = value
    except ValueError:
        assert headers.raw == []
    else:
        assert headers[key] == value


header_ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "append", "delete", "setdefault"]),
        st.sampled_from(["a", "B", "c"]),
        st.text(alphabet="xyz", max_size=3),
    ),
    max_size=20,
)


@given(header_ops)
def test_mutable_headers_match_a_list_model(ops: list[tuple[str, str, str]]) -> None:
    headers = MutableHeaders()
    raw = headers.raw
    model: list[tuple[str, str]] = []
    for op, key, value in ops:
        name = key.lower()
        if op == "set":
            headers[key] = value
            positions = [i for i, (k, _) in enumerate(model) if k == name]
            if positions:
                model[positions[0]] = (name, value)
                model = [item for i, item in enumerate(model) if i not in positions[1:]]
            else:
                model.append((name, value))
        elif op == "append":
            headers.append(key, value)
            model.append((name, value))
        elif op == "delete":
            del headers[key]
            model = [item for item in model if item[0] != name]
        else:
            current = [v for k, v in model if k == name]
            assert headers.setdefault(key, value) == (current[0] if current else value)
            if not current:
                model.append((name, value))
        assert headers.items() == model
    assert headers.raw is raw


@given(st.lists(token, max_size=5), st.lists(token, max_size=5))
def test_vary_header_merges_without_duplicates(first: list[str], second: list[str]) -> None:
    headers = MutableHeaders()
    for name in first + second:
        headers.add_vary_header(name)
    merged = headers.get("vary", "")
    tokens = [t.strip().lower() for t in merged.split(",") if t.strip()]
    assert len(tokens) == len(set(tokens))
    expected = {name.lower() for name in first + second if name.strip()}
    assert set(tokens) == expected or tokens == ["*"]


# --- URL --------------------------------------------------------------------------------

hostnames = st.from_regex(
    r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}", fullmatch=True
)
url_paths = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@", max_size=8),
    max_size=4,
).map(lambda segments: "/" + "/".join(segments))
queries = st.text(alphabet=string.ascii_letters + string.digits + "=&+%-._~", max_size=20)


@given(
    st.sampled_from(["http", "https", "ws", "wss"]),
    hostnames,
    st.none() | st.integers(min_value=0, max_value=65535),
    url_paths,
    queries,
    queries,
)
def test_url_components_and_replace_are_consistent(
    scheme: str, host: str, port: int | None, path: str, query: str, fragment: str
) -> None:
    url = URL(scheme=scheme, hostname=host, port=port, path=path, query=query, fragment=fragment)
    assert url.scheme == scheme
    assert url.hostname == host
    assert url.port == port
    assert url.path == path
    assert url.query == query
    assert url.fragment == fragment
    assert URL(str(url)) == url
    moved = url.replace(path="/other", query="a=1")
    assert moved.path == "/other"
    assert moved.query == "a=1"
    assert (moved.scheme, moved.hostname, moved.port, moved.fragment) == (
        scheme,
        host,
        port,
        fragment,
    )
    assert moved.replace(path=path, query=query) == url
    assert url.replace(port=None).port is None
    assert url.replace(hostname="example.org").hostname == "example.org"


@given(st.text())
def test_url_from_any_text_raises_only_value_error(text: str) -> None:
    url = URL(text)
    assert str(url) == text
    try:
        components = (url.scheme, url.netloc, url.path, url.query, url.hostname, url.port)
    except ValueError:
        return
    assert all(c is None or isinstance(c, (str, int)) for c in components)
    repr(url)


@given(st.binary(max_size=40))
def test_host_header_is_validated(host: bytes) -> None:
    url = URL(scope=scope_with(host=host, path="/p"))
    # components of a URL built from a scope never raise
    parts = (url.netloc, url.hostname, url.port, url.path)
    assert url.path == "/p"
    if url.netloc != "testserver":
        assert url.netloc == host.decode("latin-1")
        assert not set(url.netloc) & set("/?#@ \t\r\n\\")
        assert parts[1]


@given(hostnames | st.ip_addresses(v=4).map(str), st.none() | st.integers(0, 65535))
def test_valid_host_headers_are_used(host: str, port: int | None) -> None:
    authority = host if port is None else f"{host}:{port}"
    url = URL(scope=scope_with(host=authority.encode(), path="/p"))
    assert url.netloc == authority
    assert url.hostname == host
    assert url.port == port


@given(st.ip_addresses(v=6), st.none() | st.integers(0, 65535))
def test_ipv6_host_headers_are_used(address: Any, port: int | None) -> None:
    authority = f"[{address}]" if port is None else f"[{address}]:{port}"
    url = URL(scope=scope_with(host=authority.encode(), path="/"))
    assert url.netloc == authority
    assert url.hostname == str(address)
    assert url.port == port


@given(st.text(), st.binary(max_size=30))
@example("\n/evil", b"")
@example("\t//evil", b"#\n")
@example("", b"%CA\x80")
def test_scope_path_never_moves_the_authority(path: str, query: bytes) -> None:
    url = URL(scope=scope_with(host=b"good.example", path=path, query=query))
    split = urlsplit(str(url))
    assert split.netloc == "good.example"
    assert url.hostname == "good.example"
    assert "#" not in str(url)
    relative = URL(scope={"type": "http", "path": path, "query_string": query, "headers": []})
    assert relative.netloc == ""
    assert relative.hostname is None
    assert QueryParams(relative.query) == QueryParams(query)


# --- CommaSeparatedStrings --------------------------------------------------------------


def _repr_survives_shlex(item: str) -> bool:
    """str() quotes items with repr(), as Starlette does: items that repr() escapes
    (backslashes, unprintable characters, both kinds of quote) do not read back."""
    return (
        item == item.strip()
        and item.isprintable()
        and "\\" not in item
        and not ("'" in item and '"' in item)
    )


@given(st.lists(st.text(min_size=1, max_size=10), max_size=6))
def test_comma_separated_strings_str_quotes_each_item_with_its_repr(items: list[str]) -> None:
    assert str(CommaSeparatedStrings(items)) == ", ".join(repr(item) for item in items)


@given(st.lists(st.text(min_size=1, max_size=10).filter(_repr_survives_shlex), max_size=6))
def test_comma_separated_strings_round_trip(items: list[str]) -> None:
    assert list(CommaSeparatedStrings(str(CommaSeparatedStrings(items)))) == items

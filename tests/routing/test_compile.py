"""Pure tests: convertors, template compilation and the matching index (no event loop)."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asgi_routing import compile_path
from asgi_routing._compile import (
    MAX_SEGMENT_LENGTH,
    compile_template,
    parse_template,
    segment_bound,
)
from asgi_routing._index import RouteIndex
from asgi_routing.convertors import (
    CONVERTOR_TYPES,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    RegexConvertor,
    StringConvertor,
    UUIDConvertor,
    register_url_convertor,
)


@pytest.fixture
def restore_convertors() -> Iterator[None]:
    saved = dict(CONVERTOR_TYPES)
    yield
    CONVERTOR_TYPES.clear()
    CONVERTOR_TYPES.update(saved)


# -- convertors ----------------------------------------------------------------------


def test_string_convertor() -> None:
    convertor = StringConvertor()
    assert convertor.convert("abc") == "abc"
    assert convertor.to_string("abc") == "abc"
    with pytest.raises(ValueError, match="may not contain '/'"):
        convertor.to_string("a/b")
    with pytest.raises(ValueError, match="may not be empty"):
        convertor.to_string("")


def test_path_convertor() -> None:
    convertor = PathConvertor()
    assert convertor.convert("a/b") == "a/b"
    assert convertor.to_string("a/b") == "a/b"


def test_integer_convertor() -> None:
    convertor = IntegerConvertor()
    assert convertor.convert("042") == 42
    assert convertor.to_string(7) == "7"
    with pytest.raises(ValueError, match="must not be negative"):
        convertor.to_string(-1)


def test_float_convertor() -> None:
    convertor = FloatConvertor()
    assert convertor.convert("2.5") == 2.5
    assert convertor.to_string(2.5) == "2.5"
    assert convertor.to_string(3.0) == "3"
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="finite and >= 0"):
            convertor.to_string(bad)


def test_uuid_convertor() -> None:
    value = uuid.uuid4()
    convertor = UUIDConvertor()
    assert convertor.convert(str(value)) == value
    assert convertor.to_string(value) == str(value)


def test_base_convertor_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Convertor().convert("x")
    with pytest.raises(NotImplementedError):
        Convertor().to_string("x")


def test_regex_convertor() -> None:
    convertor = RegexConvertor("[a-z]+-[0-9]{2}")
    assert convertor.regex == "(?:[a-z]+-[0-9]{2})"
    assert convertor.convert("ab-12") == "ab-12"
    assert convertor.to_string("ab-12") == "ab-12"
    with pytest.raises(ValueError, match="does not match"):
        convertor.to_string("AB-12")
    with pytest.raises(ValueError, match="does not match"):
        RegexConvertor(".+").to_string("a/b")
    assert convertor == RegexConvertor("[a-z]+-[0-9]{2}")
    assert convertor != RegexConvertor("[a-z]+")
    assert convertor != "[a-z]+-[0-9]{2}"
    assert hash(convertor) == hash(RegexConvertor("[a-z]+-[0-9]{2}"))
    assert repr(convertor) == "RegexConvertor('[a-z]+-[0-9]{2}')"


def test_regex_convertor_refuses_bad_patterns() -> None:
    with pytest.raises(ValueError, match="Invalid regular expression"):
        RegexConvertor("[a-")
    with pytest.raises(ValueError, match="capturing groups"):
        RegexConvertor("(a|b)+")
    with pytest.raises(ValueError, match="capturing groups"):
        RegexConvertor("(?P<x>a)")


@pytest.mark.usefixtures("restore_convertors")
def test_register_url_convertor() -> None:
    class Even(Convertor[int]):
        regex = "[0-9]*[02468]"

        def convert(self, value: str) -> int:
            return int(value)

        def to_string(self, value: int) -> str:
            return str(value)

    register_url_convertor("even", Even())
    regex, path_format, convertors = compile_path("/n/{n:even}")
    assert path_format == "/n/{n}"
    assert isinstance(convertors["n"], Even)
    assert regex.fullmatch("/n/12")
    assert not regex.fullmatch("/n/13")
    for bad in ("re", "1x", "a-b", ""):
        with pytest.raises(ValueError, match="Invalid convertor key"):
            register_url_convertor(bad, Even())


# -- templates -----------------------------------------------------------------------


def test_compile_path_starlette_shape() -> None:
    regex, path_format, convertors = compile_path("/users/{id:int}/{name}")
    assert path_format == "/users/{id}/{name}"
    assert set(convertors) == {"id", "name"}
    match = regex.match("/users/3/tom")
    assert match is not None
    assert match.groupdict() == {"id": "3", "name": "tom"}
    assert regex.match("/users/x/tom") is None


def test_compile_path_is_anchored_at_both_ends() -> None:
    regex, _, _ = compile_path("/users")
    assert regex.fullmatch("/users")
    assert regex.fullmatch("/users\n") is None
    assert regex.match("/users/more") is None


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/{id}/{id}", "name id"),
        ("/{a}/{b}/{a}/{b:int}", "names a, b"),
    ],
)
def test_duplicate_parameters_are_refused(path: str, names: str) -> None:
    with pytest.raises(ValueError, match=f"Duplicated param {names} at path"):
        compile_path(path)


def test_unknown_convertor() -> None:
    with pytest.raises(ValueError, match=r"Unknown path convertor 'nope'.*register_url_convertor"):
        compile_path("/{x:nope}")


def test_regex_parameters() -> None:
    regex, path_format, convertors = compile_path("/posts/{slug:re:[a-z-]+}/{year:re:[0-9]{4}}")
    assert path_format == "/posts/{slug}/{year}"
    assert isinstance(convertors["slug"], RegexConvertor)
    assert regex.fullmatch("/posts/hello-world/2024")
    assert regex.fullmatch("/posts/Hello/2024") is None
    assert regex.fullmatch("/posts/hello/202") is None


def test_regex_parameters_with_classes_and_escapes() -> None:
    # '}' inside a class, an escaped '\}' and a ']' first in a class do not end the pattern.
    regex, path_format, _ = compile_path(r"/a/{x:re:[}]+}/{y:re:\}+}/{z:re:[]a]+}/{w:re:[^]b]+}")
    assert path_format == "/a/{x}/{y}/{z}/{w}"
    assert regex.fullmatch("/a/}}/}/]a/cc")
    assert regex.fullmatch("/a/}}/}/]a/b") is None


def test_regex_parameter_errors() -> None:
    with pytest.raises(ValueError, match="Unterminated"):
        compile_path("/{x:re:[a-z]+")
    with pytest.raises(ValueError, match="Empty regular expression"):
        compile_path("/{x:re:}")
    with pytest.raises(ValueError, match="Invalid regular expression"):
        compile_path("/{x:re:a{2,1}}")


def test_host_templates_ignore_the_port_and_case() -> None:
    regex, path_format, _ = compile_path("{sub}.example.org:8000")
    assert path_format == "{sub}.example.org:8000"
    assert regex.fullmatch("api.example.org")
    assert regex.fullmatch("API.Example.ORG")
    assert compile_template("{sub}.example.org").key is None


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/", (("",), False)),
        ("/users", (("users",), False)),
        ("/users/", (("users", ""), False)),
        ("/users/{id:int}", (("users", None), False)),
        ("/users/v{id:int}/edit", (("users", None, "edit"), False)),
        ("/files/{p:path}", (("files",), True)),
        ("/files/x{p:path}/edit", (("files",), True)),
        ("/{p:path}", ((), True)),
        ("/{a}/{b:re:[a-z]+}.{c}", ((None, None), False)),
    ],
)
def test_index_keys(path: str, key: Any) -> None:
    assert compile_template(path).key == key


@pytest.mark.usefixtures("restore_convertors")
def test_custom_convertors_are_indexed_conservatively() -> None:
    class Anything(Convertor[str]):
        regex = ".+"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    class Word(Anything):
        segment_local = True

    register_url_convertor("anything", Anything())
    register_url_convertor("word", Word())
    assert compile_template("/a/{x:anything}/b").key == (("a",), True)
    compiled = compile_template("/a/{x:word}/b")
    assert compiled.key == (("a", None, "b"), False)
    assert compiled.slash_checked == ("x",)
    assert compile_template("/a/{x:int}/{y:re:.+}").slash_checked == ("y",)


# -- the index -----------------------------------------------------------------------


def test_index_candidates() -> None:
    entries = [
        (0, (("users",), False)),
        (1, (("users", None), False)),
        (2, (("users", "me"), False)),
        (3, (("files",), True)),
        (4, None),
        (5, ((), True)),
        (7, (("users", None), False)),
    ]
    index = RouteIndex(entries)
    assert index.candidates("/users") == (0, 4, 5)
    assert index.candidates("/users/me") == (1, 2, 4, 5, 7)
    assert index.candidates("/users/42") == (1, 4, 5, 7)
    assert index.candidates("/files") == (3, 4, 5)
    assert index.candidates("/files/a/b/c") == (3, 4, 5)
    assert index.candidates("/nothing/here") == (4, 5)
    assert index.candidates("") == (4,)
    assert index.candidates("relative") == (4,)


def test_index_split_hands_back_the_segments() -> None:
    index = RouteIndex([(0, (("users",), False)), (1, (("users", None), False)), (2, None)])
    assert index.exact == {"/users": (0, 2)}
    assert index.split("/users/42") == ((1, 2), ["", "users", "42"])
    assert index.split("/files/42") == ((2,), ["", "files", "42"])
    assert index.split("relative/path") == ((2,), None)
    assert index.split("") == ((2,), None)


def test_segment_params() -> None:
    # Parameters that each fill a segment, str or int: matched from the split path.
    assert compile_template("/u/{id:int}/x/{name}").segment_params == (
        (2, "id", True),
        (4, "name", False),
    )
    assert compile_template("/{a}").segment_params == ((1, "a", False),)
    # Anything else is left to the regex.
    for template in ["/u/{x:float}", "/u/v{id:int}", "/u/{a}.{b}", "/f/{p:path}", "{sub}.org"]:
        assert compile_template(template).segment_params is None


def test_segment_params_leave_custom_convertors_to_the_regex(restore_convertors: None) -> None:
    class Even(IntegerConvertor):
        regex = "[0-9]*[02468]"

    register_url_convertor("int", Even())
    assert compile_template("/u/{id:int}").segment_params is None


def test_index_without_barriers_is_exact() -> None:
    index = RouteIndex([(i, ((f"r{i}",), False)) for i in range(1000)])
    assert index.candidates("/r999") == (999,)
    assert index.candidates("/r1000") == ()


# -- segments with several parameters ------------------------------------------------


def naive_regex(path: str) -> re.Pattern[str]:
    """The template as one plain regex, without the atomic segments."""
    pieces = ["^"]
    for token in parse_template(path):
        if isinstance(token, str):
            pieces.append(re.escape(token))
        else:
            pieces.append(f"(?P<{token.name}>{token.convertor.regex})")
    return re.compile("".join(pieces) + "$")


@settings(max_examples=300, deadline=None)
@given(
    template=st.lists(
        st.sampled_from(["{N}", "{N:int}", "{N:float}", "-", ".", "a", "/", "{N:path}"]),
        min_size=1,
        max_size=7,
    ),
    path=st.lists(st.sampled_from(["a", "1", "2.5", "-", ".", "/", "x"]), max_size=9),
)
def test_atomic_segments_choose_what_the_plain_regex_chooses(
    template: list[str], path: list[str]
) -> None:
    text = "/" + "".join(template)
    counter = iter(range(100))
    while "{N" in text:
        text = text.replace("{N", "{p" + str(next(counter)), 1)
    subject = "/" + "".join(path)
    compiled = compile_template(text)
    ours = compiled.regex.fullmatch(subject)
    plain = naive_regex(text).fullmatch(subject)
    assert (ours is None) == (plain is None)
    if ours is not None and plain is not None:
        assert ours.groupdict() == plain.groupdict()
    # The linear matcher the routes use answers what the regex answers.
    expected = None if plain is None else plain.groupdict()
    assert compiled.match(subject) == expected
    if compiled.matcher is not None:
        assert compiled.matcher.match(subject) == expected


MATCHER_PIECES = ["{N}", "{N}", "{N:int}", "{N:float}", "{N:re:[a-]+}", "{N:path}", "-", "."]


@settings(max_examples=500, deadline=None)
@given(
    template=st.lists(
        st.sampled_from([*MATCHER_PIECES, "a", "ab", "/", "{N}-{N}", "{N}.{N}"]),
        min_size=1,
        max_size=8,
    ),
    path=st.lists(
        st.sampled_from(["a", "b", "ab", "1", "2.5", "-", "--", ".", "/", "\n"]), max_size=12
    ),
)
def test_the_segment_matcher_answers_what_the_plain_regex_answers(
    template: list[str], path: list[str]
) -> None:
    text = "/" + "".join(template)
    counter = iter(range(100))
    while "{N" in text:
        text = text.replace("{N", "{p" + str(next(counter)), 1)
    subject = "/" + "".join(path)
    # Equality with the regex is promised within the documented length bound (whatever
    # the parameter count); past it a mixed segment is refused: tested on its own.
    assume(all(len(segment) <= segment_bound(99) for segment in subject.split("/")))
    plain = naive_regex(text).fullmatch(subject)
    expected = None if plain is None else plain.groupdict()
    compiled = compile_template(text)
    assert compiled.match(subject) == expected
    if compiled.matcher is not None:
        assert compiled.matcher.match(subject) == expected


@settings(max_examples=300, deadline=None)
@given(
    template=st.lists(
        st.sampled_from(["{N}", "{N:int}", "-", ".", "a", "B"]), min_size=1, max_size=6
    ),
    host=st.lists(st.sampled_from(["a", "A", "b", "1", "-", ".", "/", "\u212a"]), max_size=10),
)
def test_host_templates_match_what_the_regex_matches(template: list[str], host: list[str]) -> None:
    text = "".join(template) + ".Example.org:8000"
    counter = iter(range(100))
    while "{N" in text:
        text = text.replace("{N", "{p" + str(next(counter)), 1)
    subject = "".join(host) + ".example.ORG"
    compiled = compile_template(text)
    plain = compiled.regex.fullmatch(subject)
    expected = None if plain is None else plain.groupdict()
    assert compiled.match(subject) == expected
    if compiled.matcher is not None:
        assert compiled.matcher.match(subject) == expected


@pytest.mark.parametrize(
    ("template", "hostile"),
    [
        ("/{a}-{b}-{c}.{ext}", "/" + "a-" * 30_000),
        ("/{a}-{b}-{c}.{ext}", "/" + "a-" * 30_000 + ".x/"),
        ("/x/{a}{b}{c}{d}{e}/y", "/x/" + "a" * 60_000 + "/z"),
        ("/{a}.{b}.{c}/{d}-{e}-{f}", "/a.b.c/" + "a" * 60_000 + "-a"),
        ("{a}-{b}-{c}.example.org", "a-" * 30_000 + "example.org"),
    ],
)
def test_hostile_segments_are_refused_without_backtracking(template: str, hostile: str) -> None:
    # Without the linear matcher each of these takes hours (cubic or worse).
    compiled = compile_template(template)
    assert compiled.matcher is not None
    assert compiled.match(hostile) is None


def test_short_texts_use_the_regex_long_ones_the_matcher() -> None:
    compiled = compile_template("/files/{name}.{ext}/{a}-{b}-{c}")
    assert compiled.regex_limit == 64  # three parameters in a segment
    expected = {"name": "report.final", "ext": "pdf", "a": "x", "b": "y", "c": "z"}
    assert compiled.match("/files/report.final.pdf/x-y-z") == expected
    long = "/files/" + "r" * 100 + ".pdf/x-y-z"
    assert compiled.match(long) == {**expected, "name": "r" * 100}
    assert compile_template("/files/{name}").regex_limit == 0


def test_long_many_parameter_segments_still_match_exactly() -> None:
    compiled = compile_template("/{a}-{b}-{c}.{ext}")
    text = "/" + "a-" * 30_000 + "b.tar.gz"
    expected = {"a": "a-" * 29_998 + "a", "b": "a", "c": "b.tar", "ext": "gz"}
    assert compiled.match(text) == expected
    assert compiled.match("/" + "x" * 10_000 + "-y-z.e") == {
        "a": "x" * 10_000,
        "b": "y",
        "c": "z",
        "ext": "e",
    }


@pytest.mark.parametrize(
    ("params", "bound"),
    [(1, MAX_SEGMENT_LENGTH), (2, MAX_SEGMENT_LENGTH), (3, 256), (4, 128), (9, 16)],
)
def test_segment_bounds(params: int, bound: int) -> None:
    assert segment_bound(params) == bound


def test_segments_the_matcher_cannot_split_are_bounded() -> None:
    # int/float parameters beside others: the regex, up to a length bound.
    mixed = compile_template("/{slug}-{id:int}/{v:int}")
    assert mixed.match("/my-post-12/3") == {"slug": "my-post", "id": "12", "v": "3"}
    long_slug = "x" * (MAX_SEGMENT_LENGTH - 3)
    assert mixed.match(f"/{long_slug}-12/3") == {"slug": long_slug, "id": "12", "v": "3"}
    assert mixed.match(f"/{long_slug}x-12/3") is None
    assert mixed.match("/" + "1-" * 30_000 + "/3") is None
    # a path parameter elsewhere: no matcher, the regex itself refuses long segments.
    tail = compile_template("/{p:path}/{a}-{b}-{c}.{e}")
    assert tail.matcher is None
    assert tail.match("/x/y/a-b-c.d") == {"p": "x/y", "a": "a", "b": "b", "c": "c", "e": "d"}
    assert tail.match("/x/" + "a" * 122 + "-b-c.d") is not None  # 128 characters
    assert tail.match("/x/" + "a" * 123 + "-b-c.d") is None
    assert tail.match("/x/" + "a-" * 30_000) is None
    # custom regex parameters are left to the regex and its bound too.
    assert compile_template("/{a:re:[a-]+}-{b}.{c}").matcher is None


def test_non_ascii_hosts_and_literals_use_the_regex() -> None:
    host = compile_template("{a}-{b}.example.org")
    assert host.matcher is not None
    assert host.matcher.match("\u00e9-x.example.org") == {"a": "\u00e9", "b": "x"}
    assert host.match("\u00e9" * (MAX_SEGMENT_LENGTH + 1) + "-x.example.org") is None
    kelvin = compile_template("{a}-{b}.\u212a.org")
    assert kelvin.matcher is None
    assert kelvin.match("a-b.k.org") == {"a": "a", "b": "b"}
    assert compile_template("{a:int}-{b:int}.example.org").match("1-2.EXAMPLE.org") == {
        "a": "1",
        "b": "2",
    }


def test_a_mismatch_after_a_many_parameter_segment_does_not_backtrack() -> None:
    regex = compile_template("/{a}-{b}-{c}/edit").regex
    # Thousands of ways to split the first segment; each used to be retried on "/view".
    assert regex.fullmatch("/" + "x-" * 2000 + "x/view") is None
    match = regex.fullmatch("/" + "x-" * 3 + "x/edit")
    assert match is not None
    assert match.groupdict() == {"a": "x-x", "b": "x", "c": "x"}


@pytest.mark.usefixtures("restore_convertors")
def test_atomic_segments_count_groups_of_custom_convertors() -> None:
    class Grouped(Convertor[str]):
        regex = "([0-9]+)(x)?"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    register_url_convertor("grouped", Grouped())
    regex = compile_template("/{g:grouped}/{a}.{b}/{c:grouped}-{d}").regex
    match = regex.fullmatch("/12x/f.tar.gz/7-z")
    assert match is not None
    assert match.groupdict() == {"g": "12x", "a": "f.tar", "b": "gz", "c": "7", "d": "z"}


def test_host_template_with_several_parameters_never_matches_a_slash() -> None:
    # A host is matched whole (not split on "/"): a slash in it is never a value.
    # (long values: short ones are left to the regex, long ones to the linear matcher)
    compiled = compile_template("{a}-{b}.example.org")
    long = "x" * 300
    assert compiled.match(f"{long}-y.example.org") == {"a": long, "b": "y"}
    assert compiled.match(f"{long}/z-y.example.org") is None
    assert compiled.match(f"x-{long}/z.example.org") is None

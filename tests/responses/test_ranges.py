from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asgi_responses._ranges import (
    MAX_RANGES,
    evaluate_preconditions,
    if_range_matches,
    parse_http_date,
    parse_range,
)

# ---- parse_range ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", [(0, 1)]),
        ("bytes=0-99", [(0, 100)]),
        ("bytes=10-", [(10, 100)]),
        ("bytes=-10", [(90, 100)]),
        ("bytes=-1000", [(0, 100)]),
        ("bytes=50-1000", [(50, 100)]),
        ("bytes=99-99", [(99, 100)]),
        ("BYTES=1-2", [(1, 3)]),
        (" bytes =1-2", [(1, 3)]),
        ("bytes= 1-2 , 5-6 ", [(1, 3), (5, 7)]),
        ("bytes=1-2,,, 5-6", [(1, 3), (5, 7)]),
        ("bytes=20-29,0-9", [(0, 10), (20, 30)]),
        ("bytes=0-10,5-20", [(0, 21)]),
        ("bytes=0-9,10-19", [(0, 20)]),
        ("bytes=0-50,10-20", [(0, 51)]),
        ("bytes=0-1,-1", [(0, 2), (99, 100)]),
        ("bytes=000005-0007", [(5, 8)]),
        ("bytes=0-99999999999999999999999999999999", [(0, 100)]),
        ("bytes=-99999999999999999999999999999999", [(0, 100)]),
        ("bytes=100-200,5-6", [(5, 7)]),
    ],
)
def test_satisfiable(header: str, expected: list[tuple[int, int]]) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100-",
        "bytes=100-200",
        "bytes=-0",
        "bytes=100-100,-0,200-",
        "bytes=99999999999999999999999-",
    ],
)
def test_unsatisfiable(header: str) -> None:
    assert parse_range(header, 100) == []


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "items=0-1",
        "bytes=",
        "bytes=,,",
        "bytes=abc",
        "bytes=1",
        "bytes=a-1",
        "bytes=1-a",
        "bytes=-a",
        "bytes=-",
        "bytes=5-1",
        "bytes=0-1,5-1",
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=1 -2",
        "bytes=¹-²",
        "bytes=٣-٤",
        "bytes=99999999999999999999999-99999999999999999999998",
    ],
)
def test_ignored(header: str) -> None:
    assert parse_range(header, 100) is None


def test_empty_file_ignores_ranges() -> None:
    assert parse_range("bytes=0-1", 0) is None


def test_too_many_ranges_are_ignored() -> None:
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES))
    assert parse_range(many, 1000) is not None
    assert parse_range(many + ",500-500", 1000) is None
    assert parse_range("bytes=0-1,2-3,4-5", 1000, max_ranges=2) is None


def test_hostile_header_is_cheap() -> None:
    # Thousands of overlapping ranges and huge numbers: answered, never raised.
    assert parse_range("bytes=" + "0-,1-," * 5000, 10) is None
    assert parse_range("bytes=" + "9" * 100_000 + "-", 10) == []
    assert parse_range("bytes=-" + "9" * 100_000, 10) == [(0, 10)]


_header = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda parts: "bytes=" + ",".join(parts),
        st.lists(
            st.one_of(
                st.builds(
                    lambda a, b: f"{a}-{b}",
                    st.integers(0, 300) | st.just(""),
                    st.integers(0, 300) | st.just(""),
                ),
                st.text(alphabet="0123456789-, \t", max_size=8),
            ),
            max_size=12,
        ),
    ),
)


@given(header=_header, size=st.integers(0, 250))
def test_property_results_are_sorted_coalesced_and_in_bounds(header: str, size: int) -> None:
    result = parse_range(header, size)
    if result is None:
        return
    previous_stop = -1
    for start, stop in result:
        assert 0 <= start < stop <= size
        assert start > previous_stop  # sorted, and neither overlapping nor adjacent
        previous_stop = stop


@given(first=st.integers(0, 300), last=st.integers(0, 300), size=st.integers(1, 250))
def test_property_single_range_matches_rfc(first: int, last: int, size: int) -> None:
    result = parse_range(f"bytes={first}-{last}", size)
    if last < first:
        assert result is None
    elif first >= size:
        assert result == []
    else:
        assert result == [(first, min(last, size - 1) + 1)]


# ---- dates ----------------------------------------------------------------------

STAMP = 1_700_000_000
DATE = email.utils.formatdate(STAMP, usegmt=True)


@pytest.mark.parametrize(
    "value",
    [DATE, "Tuesday, 14-Nov-23 22:13:20 GMT", "Tue Nov 14 22:13:20 2023"],
)
def test_parse_http_date_formats(value: str) -> None:
    assert parse_http_date(value) == STAMP


@pytest.mark.parametrize("value", ["", "yesterday", "x" * 65, "Tue, 14 Nov 99999999 22:13:20 GMT"])
def test_parse_http_date_rejects(value: str) -> None:
    assert parse_http_date(value) is None


# ---- preconditions --------------------------------------------------------------

ETAG = '"abc-1"'
EARLIER = email.utils.formatdate(STAMP - 10, usegmt=True)
LATER = email.utils.formatdate(STAMP + 10, usegmt=True)


@pytest.mark.parametrize(
    ("method", "headers", "outcome"),
    [
        ("GET", {}, None),
        ("GET", {"if_none_match": ETAG}, 304),
        ("HEAD", {"if_none_match": f'"x", W/{ETAG}'}, 304),
        ("GET", {"if_none_match": "*"}, 304),
        ("GET", {"if_none_match": '"other"'}, None),
        ("POST", {"if_none_match": ETAG}, 412),
        ("GET", {"if_modified_since": DATE}, 304),
        ("GET", {"if_modified_since": LATER}, 304),
        ("GET", {"if_modified_since": EARLIER}, None),
        ("GET", {"if_modified_since": "garbage"}, None),
        ("POST", {"if_modified_since": DATE}, None),
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3)
        ("GET", {"if_none_match": '"other"', "if_modified_since": DATE}, None),
        ("GET", {"if_match": ETAG}, None),
        ("GET", {"if_match": "*"}, None),
        ("GET", {"if_match": '"other"'}, 412),
        ("GET", {"if_match": f"W/{ETAG}"}, 412),
        ("GET", {"if_unmodified_since": DATE}, None),
        ("GET", {"if_unmodified_since": EARLIER}, 412),
        ("GET", {"if_unmodified_since": "garbage"}, None),
        # If-Match wins over If-Unmodified-Since
        ("GET", {"if_match": ETAG, "if_unmodified_since": EARLIER}, None),
        # If-Match is checked before If-None-Match
        ("GET", {"if_match": '"other"', "if_none_match": ETAG}, 412),
        ("GET", {"if_match": ETAG, "if_none_match": ETAG}, 304),
    ],
)
def test_evaluate_preconditions(method: str, headers: dict[str, str], outcome: int | None) -> None:
    assert evaluate_preconditions(method, ETAG, STAMP, **headers) == outcome


def test_weak_etag_never_matches_if_match() -> None:
    assert evaluate_preconditions("GET", f"W/{ETAG}", STAMP, if_match=f"W/{ETAG}") == 412
    assert evaluate_preconditions("GET", f"W/{ETAG}", STAMP, if_none_match=ETAG) == 304


@pytest.mark.parametrize(
    ("value", "etag", "matches"),
    [
        (ETAG, ETAG, True),
        (f" {ETAG} ", ETAG, True),
        ('"other"', ETAG, False),
        (f"W/{ETAG}", ETAG, False),
        (f"W/{ETAG}", f"W/{ETAG}", False),
        (DATE, ETAG, True),
        (EARLIER, ETAG, False),
        ("garbage", ETAG, False),
    ],
)
def test_if_range(value: str, etag: str, matches: bool) -> None:
    assert if_range_matches(value, etag, STAMP) is matches

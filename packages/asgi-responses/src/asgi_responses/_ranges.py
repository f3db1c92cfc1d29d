"""Range, If-Range and conditional request headers (RFC 9110), as pure functions.

Nothing here does I/O; every function runs in time linear in its input's length, so a
hostile header costs no more than reading it.
"""

from __future__ import annotations

import email.utils
import re

__all__ = [
    "MAX_RANGES",
    "evaluate_preconditions",
    "if_range_matches",
    "parse_http_date",
    "parse_range",
]

#: More range-specs than this in one Range header: the header is ignored (200, whole file).
MAX_RANGES = 100

_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')
_MAX_DATE_LENGTH = 64


def _digits(value: str) -> str | None:
    """``value`` without leading zeros if it is a non-empty run of ASCII digits."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    return value.lstrip("0") or "0"


def _to_int(digits: str, cap: int) -> int:
    """The number ``digits`` spells, or ``cap`` if it is larger (no huge-int parsing)."""
    if len(digits) > len(str(cap)):
        return cap
    return min(int(digits), cap)


def _less(a: str, b: str) -> bool:
    """``int(a) < int(b)`` for digit strings without leading zeros, in linear time."""
    return (len(a), a) < (len(b), b)


def parse_range(
    header: str, size: int, max_ranges: int = MAX_RANGES
) -> list[tuple[int, int]] | None:
    """Parse a ``Range`` header against a representation of ``size`` bytes.

    Returns ``None`` when the header must be ignored and the whole representation
    sent (200): another unit than ``bytes``, a syntax error, a range whose last byte
    comes before its first, more than ``max_ranges`` range-specs, or an empty file.
    Returns ``[]`` when no range overlaps the representation (416). Otherwise returns
    half-open ``(start, stop)`` pairs within ``[0, size)``, sorted, with overlapping
    and adjacent ranges merged.
    """
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip(" \t").lower() != "bytes" or size <= 0:
        return None
    ranges: list[tuple[int, int]] = []
    count = 0
    for item in spec.split(","):
        item = item.strip(" \t")
        if not item:
            continue
        count += 1
        if count > max_ranges:
            return None
        first, dash, last = item.partition("-")
        if not dash:
            return None
        if not first:
            suffix = _digits(last)
            if suffix is None:
                return None
            length = _to_int(suffix, size)
            if length:
                ranges.append((size - length, size))
            continue
        start_digits = _digits(first)
        if start_digits is None:
            return None
        if last:
            end_digits = _digits(last)
            if end_digits is None or _less(end_digits, start_digits):
                return None
            end = _to_int(end_digits, size - 1)
        else:
            end = size - 1
        start = _to_int(start_digits, size)
        if start < size:
            ranges.append((start, end + 1))
    if not count:
        return None
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, stop in ranges:
        if merged and start <= merged[-1][1]:
            if stop > merged[-1][1]:
                merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP-date (any RFC 9110 format), or ``None``."""
    if len(value) > _MAX_DATE_LENGTH:
        return None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    try:
        return int(email.utils.mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def _strong_match(header: str, etag: str) -> bool:
    """RFC 9110 strong comparison of ``etag`` against an If-Match style list."""
    if header.strip() == "*":
        return True
    if etag.startswith("W/"):
        return False
    return any(tag == etag for tag in _ENTITY_TAG.findall(header))


def _weak_match(header: str, etag: str) -> bool:
    """RFC 9110 weak comparison of ``etag`` against an If-None-Match style list."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in _ENTITY_TAG.findall(header))


def evaluate_preconditions(
    method: str,
    etag: str,
    last_modified: int,
    *,
    if_match: str | None = None,
    if_unmodified_since: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
) -> int | None:
    """Apply the conditional headers in RFC 9110 section 13.2.2 order.

    Returns 412 (precondition failed), 304 (not modified) or ``None`` (go on and
    answer normally). ``last_modified`` is the representation's time in whole seconds.
    If-Match beats If-Unmodified-Since, If-None-Match beats If-Modified-Since, and
    If-Modified-Since only applies to GET and HEAD. Unparsable dates are ignored.
    """
    if if_match is not None:
        if not _strong_match(if_match, etag):
            return 412
    elif if_unmodified_since is not None:
        since = parse_http_date(if_unmodified_since)
        if since is not None and last_modified > since:
            return 412
    get_or_head = method in ("GET", "HEAD")
    if if_none_match is not None:
        if _weak_match(if_none_match, etag):
            return 304 if get_or_head else 412
    elif if_modified_since is not None and get_or_head:
        since = parse_http_date(if_modified_since)
        if since is not None and last_modified <= since:
            return 304
    return None


def if_range_matches(if_range: str, etag: str, last_modified: int) -> bool:
    """Whether an ``If-Range`` value still holds, so the Range header applies.

    An entity-tag must match strongly (a weak tag never does); a date must equal the
    Last-Modified time exactly.
    """
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return not value.startswith("W/") and not etag.startswith("W/") and value == etag
    return parse_http_date(value) == last_modified

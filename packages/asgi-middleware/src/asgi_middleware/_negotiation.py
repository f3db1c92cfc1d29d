"""Content-coding negotiation (RFC 9110, section 12.5.3), as pure functions.

``Accept-Encoding`` comes from the client, so the parser is lenient: a malformed
item is skipped, never an error, and the work is linear in the header's length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["parse_accept_encoding", "select_encoding"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def _qvalue(params: str) -> float | None:
    """The ``q`` parameter of one item (1.0 when absent), or ``None`` when malformed."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else None
    return 1.0


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Map each content-coding named in an ``Accept-Encoding`` value to its q-value.

    Codings are lowercased; the first occurrence of a coding wins; items with an
    invalid token or q-value are ignored.
    """
    result: dict[str, float] = {}
    for item in value.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if coding in result or not _TOKEN.fullmatch(coding):
            continue
        q = _qvalue(params) if params else 1.0
        if q is not None:
            result[coding] = q
    return result


def select_encoding(value: str, available: Sequence[str]) -> str | None:
    """Pick the coding of ``available`` the client prefers, or ``None`` for identity.

    Higher q-values win; ties go to the earlier entry of ``available`` (the
    server's preference). ``*`` covers codings not named; ``x-gzip`` is an alias
    of ``gzip``. Identity wins over a coding only when the client rates it higher.
    """
    prefs = parse_accept_encoding(value)
    if not prefs:
        return None
    star = prefs.get("*", 0.0)
    if "gzip" not in prefs and "x-gzip" in prefs:
        prefs["gzip"] = prefs["x-gzip"]
    best: str | None = None
    best_q = 0.0
    for coding in available:
        q = prefs.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    if best is not None and prefs.get("identity", 0.0) > best_q:
        return None
    return best

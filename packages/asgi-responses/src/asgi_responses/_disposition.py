"""Content-Disposition header values (RFC 6266, with RFC 8187 ``filename*``), pure."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
# RFC 8187 attr-char, beyond the letters, digits and "_.-~" quote() always keeps.
_ATTR_SAFE = "!#$&+^`|"


def _quoted_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def content_disposition(disposition_type: str, filename: str | None = None) -> str:
    """``attachment; filename="report.pdf"`` and the like.

    A filename of printable ASCII is sent as a quoted string. Any other filename is
    sent twice: an ASCII fallback (accents stripped, other characters replaced by
    ``_``) in ``filename`` and the exact UTF-8 name, percent-encoded, in
    ``filename*``. Control characters (CR, LF...) can never reach the header.
    Raises ``ValueError`` if ``disposition_type`` is not a token.
    """
    if not _TOKEN.fullmatch(disposition_type):
        raise ValueError(f"content disposition type must be a token: {disposition_type!r}")
    if filename is None:
        return disposition_type
    if _PRINTABLE_ASCII.fullmatch(filename):
        return f"{disposition_type}; filename={_quoted_string(filename)}"
    decomposed = unicodedata.normalize("NFKD", filename)
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    fallback = _NOT_PRINTABLE_ASCII.sub("_", ascii_name)
    encoded = quote(filename, safe=_ATTR_SAFE, encoding="utf-8", errors="replace")
    return f"{disposition_type}; filename={_quoted_string(fallback)}; filename*=utf-8''{encoded}"

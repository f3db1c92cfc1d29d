"""Raw ASGI headers: the ``(bytes, bytes)`` list type, ``Vary`` merging and reading a
``Content-Length``.

Pure functions over the header lists of ASGI messages, so the middleware costs no
parsing beyond what it needs.
"""

from __future__ import annotations

RawHeaders = list[tuple[bytes, bytes]]


def add_vary(headers: RawHeaders, token: bytes) -> None:
    """Add ``token`` to the ``Vary`` header of response ``headers`` (in place)."""
    lowered = token.lower()
    for index, (key, value) in enumerate(headers):
        if len(key) == 4 and key.lower() == b"vary":  # lower() only the names it could be
            present = {item.strip().lower() for item in value.split(b",")}
            if lowered not in present and b"*" not in present:
                headers[index] = (key, value + b", " + token if value.strip() else token)
            return
    headers.append((b"vary", token))


def content_length(value: bytes | None) -> int | None:
    """A ``Content-Length`` value as a number, ``None`` for anything but digits (leading
    zeros allowed); absurdly long ones are capped at 10**18, over any limit."""
    if value is None or not value.isdigit():
        return None
    digits = value.lstrip(b"0")
    return 10**18 if len(digits) > 18 else int(digits or b"0")

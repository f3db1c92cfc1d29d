"""Pure (sans-IO) parsers for request data: cookies, header parameters, JSON, forms.

Every function here takes bytes or text and returns plain values; none does I/O.
Each runs in linear time on any input, and junk never raises anything but
:class:`ParseError` (where an error is documented at all).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_to_bytes

__all__ = [
    "FieldTooLarge",
    "ParseError",
    "is_json_media_type",
    "json_depth",
    "parse_content_type",
    "parse_cookie",
    "parse_json",
    "parse_urlencoded",
    "parse_urlencoded_fast",
    "unquote_cookie_value",
]


class ParseError(ValueError):
    """Malformed input; the message says what was wrong and is safe to show a client."""


# --- cookies -------------------------------------------------------------------------

_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.S)


def _cookie_unescape(match: re.Match[str]) -> str:
    octal = match.group(1)
    if octal is not None:
        return chr(int(octal, 8))
    return match.group(2)


def unquote_cookie_value(value: str) -> str:
    """Strip the double quotes around a cookie value and resolve its escapes.

    ``\\ooo`` (three octal digits) is that character and ``\\c`` is ``c``, as
    ``http.cookies`` writes them; one left-to-right pass, so linear time.
    """
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    value = value[1:-1]
    if "\\" not in value:
        return value
    return _COOKIE_ESCAPE.sub(_cookie_unescape, value)


def parse_cookie(cookie_string: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into a dict, the way browsers send cookies.

    Pairs are split on ``;``, then on the first ``=``; names and values are
    stripped and quoted values unquoted. A chunk without ``=`` is a value with an
    empty name; empty chunks are skipped; a later pair wins over an earlier one
    with the same name. Never raises.
    """
    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        key, sep, value = chunk.partition("=")
        if not sep:
            key, value = "", key
        key = key.strip()
        value = value.strip()
        if key or value:
            cookies[key] = unquote_cookie_value(value)
    return cookies


# --- Content-Type and other headers with parameters ----------------------------------

# One parameter: "; name = value" where value is a token or a quoted string. A
# quoted string may hold ";" and escaped quotes; an unterminated one runs to the
# end. Everything after the value up to the next ";" is junk and skipped. No part
# can fail once the ";" matched, so the regex never backtracks: linear time.
_PARAM = re.compile(
    r""";\s*([^\s;="]*)\s*(?:=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"?|([^;]*)))?[^;]*""",
    re.S,
)


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a header such as ``Content-Type`` into a media type and parameters.

    ``'text/html; charset="utf-8"'`` gives ``("text/html", {"charset": "utf-8"})``.
    The media type and parameter names are lower-cased; quoted values are
    unquoted (``\\"`` and ``\\\\`` unescaped, other backslashes kept, as browsers
    send Windows paths in file names). The first of repeated parameters wins.
    Also parses ``Content-Disposition``. Never raises.
    """
    index = value.find(";")
    if index < 0:
        return value.strip().lower(), {}
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value, index):
        name = match.group(1).lower()
        if not name or name in params:
            continue
        quoted, token = match.group(2, 3)
        if quoted is not None:
            if "\\" in quoted:
                # In a quoted value every unescaped '"' is gone and backslashes pair
                # up left to right, as str.replace scans: two passes, linear time.
                quoted = quoted.replace("\\\\", "\\").replace('\\"', '"')
            params[name] = quoted
        elif token is not None:
            params[name] = token.strip()
        else:
            params[name] = ""
    return value[:index].strip().lower(), params


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or any ``type/subtype+json`` (lower-cased media type)."""
    if media_type == "application/json":
        return True
    main, sep, subtype = media_type.partition("/")
    return bool(main) and bool(sep) and subtype.endswith("+json")


# --- JSON -----------------------------------------------------------------------------

# The bytes that matter for nesting: quotes and brackets. Everything else is
# deleted with one bytes.translate (C speed, one copy).
_NOT_SKELETON = bytes(byte for byte in range(256) if byte not in b'"[]{}')
# The skeleton is scanned in blocks, so the per-block lists stay small: memory is
# the body's size plus a constant, whatever the document holds.
_SKELETON_BLOCK = 16 * 1024
_DEPTH_DELTA = [0] * 256
_DEPTH_DELTA[ord("[")] = _DEPTH_DELTA[ord("{")] = 1
_DEPTH_DELTA[ord("]")] = _DEPTH_DELTA[ord("}")] = -1


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON document, in linear time.

    Brackets inside strings do not count; ``b"1"`` is 0, ``b"[]"`` is 1,
    ``b'{"a": [1]}'`` is 2. On invalid documents the result is at least the depth
    a JSON parser reaches before it fails, so checking it first keeps the parser
    from recursing deeper than allowed. Memory is proportionate to ``data``.
    """
    if b"\\" in data:
        # Escaped backslashes pair up left to right, as a JSON lexer reads them;
        # what remains before a quote escapes it. Both are dropped, so every
        # quote left opens or closes a string.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_SKELETON)
    depth = deepest = 0
    in_string = False
    for start in range(0, len(skeleton), _SKELETON_BLOCK):
        pieces = skeleton[start : start + _SKELETON_BLOCK].split(b'"')
        # Pieces alternate between outside and inside strings.
        brackets = b"".join(pieces[1 if in_string else 0 :: 2])
        if len(pieces) % 2 == 0:
            in_string = not in_string
        block_deepest = max(accumulate(map(_DEPTH_DELTA.__getitem__, brackets), initial=depth))
        if block_deepest > deepest:
            deepest = block_deepest
        depth += (
            brackets.count(b"[")
            + brackets.count(b"{")
            - brackets.count(b"]")
            - brackets.count(b"}")
        )
    return deepest


def _refuse_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's json reads them, JSON has none."""
    raise ParseError(
        f"The request body is not valid JSON: {name} is not a JSON value "
        "(JSON has no NaN or Infinity)."
    )


# Built once: json.loads() with a keyword argument builds a decoder on every call.
_JSON_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def parse_json(body: bytes, *, max_depth: int) -> Any:
    """Decode a UTF-8 JSON document nested at most ``max_depth`` deep.

    Raises :class:`ParseError` for an empty body, invalid UTF-8, invalid JSON (also
    ``NaN``, ``Infinity`` and ``-Infinity``, which Python's ``json`` accepts but JSON
    does not have) or too deep a nesting (checked before parsing).
    """
    if not body or body.isspace():
        raise ParseError("The request body is empty; expected a JSON document.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("The request body is not valid UTF-8; JSON must be UTF-8.") from None
    too_deep = f"The JSON document is nested too deeply (at most {max_depth} levels)."
    if body.count(b"[") + body.count(b"{") > max_depth and json_depth(body) > max_depth:
        raise ParseError(too_deep)
    try:
        return _JSON_DECODER.decode(text)
    except ParseError:  # from _refuse_constant
        raise
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"The request body is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError:  # an integer with more digits than Python converts
        raise ParseError("The request body is not valid JSON: a number is too long.") from None
    except RecursionError:  # max_depth set above what the interpreter allows
        raise ParseError(too_deep) from None


# --- application/x-www-form-urlencoded ------------------------------------------------

_FORM_PAIR = re.compile(rb"[^&]+")
# The largest body parse_urlencoded's fast path takes: its copies (the text, its pairs)
# stay small; larger bodies are parsed pair by pair, holding only the result.
_SMALL_FORM = 64 * 1024


def _decode_form_component(raw: bytes, charset: str) -> str:
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode(charset, "replace")


class FieldTooLarge(ParseError):
    """A form field over its size limit (answered with 413, not 400)."""


def parse_urlencoded(
    body: bytes,
    *,
    max_fields: int | float,
    charset: str = "utf-8",
    max_part_size: int | float = float("inf"),
) -> list[tuple[str, str]]:
    """Parse an ``application/x-www-form-urlencoded`` body into ``(name, value)`` pairs.

    Pairs are separated by ``&`` (not ``;``); a pair without ``=`` has an empty
    value; bytes that are not valid in ``charset`` become U+FFFD. More than
    ``max_fields`` pairs raise :class:`ParseError` as soon as the next one is seen; a
    name or a value longer than ``max_part_size`` bytes (as sent, still encoded)
    raises :class:`FieldTooLarge`. ``charset`` must be a known codec.
    """
    if charset == "utf-8":
        parsed = parse_urlencoded_fast(body, max_fields, max_part_size)
        if parsed is not None:
            return parsed[0]
    return _parse_urlencoded_bytes(body, max_fields, charset, max_part_size)


def parse_urlencoded_fast(
    body: bytes, max_fields: int | float, max_part_size: int | float
) -> tuple[list[tuple[str, str]], dict[str, str]] | None:
    """``parse_urlencoded`` of a UTF-8 body, for the common body only (small, ASCII,
    no escapes, no limit within reach): its pairs and a dict of each name's last
    value; ``None`` for any other body, which only the general path answers alike.
    """
    size = len(body)
    if size <= _SMALL_FORM and body.isascii():
        # Decoded once and split as text, where a character is a byte. Anything it
        # cannot answer alike (an escape, an error, a limit within reach) is left to
        # the general path.
        text = body.decode()
        # The split makes at most max_fields pairs: the body is too short to hold more
        # (each pair but the last takes a byte and an "&"), or has fewer "&" than that.
        # The length test spares a small form the count (measured: ~700 instructions).
        if "%" not in text and (size + 1 <= 2 * max_fields or text.count("&") < max_fields):
            if "+" in text:
                text = text.replace("+", " ")
            pairs = text.split("&")
            if "" in pairs:
                pairs = [pair for pair in pairs if pair]
            if len(text) <= max_part_size or max(map(len, pairs), default=0) <= max_part_size:
                items: list[tuple[str, str]] = []
                fields: dict[str, str] = {}
                for pair in pairs:
                    name, _, value = pair.partition("=")
                    items.append((name, value))
                    fields[name] = value
                return items, fields
    return None


def _parse_urlencoded_bytes(
    body: bytes, max_fields: int | float, charset: str, max_part_size: int | float
) -> list[tuple[str, str]]:
    """``parse_urlencoded`` for any body: pair by pair, on bytes."""
    items: list[tuple[str, str]] = []
    for match in _FORM_PAIR.finditer(body):
        if len(items) >= max_fields:
            raise ParseError(f"Too many fields. Maximum number of fields is {max_fields}.")
        name, _, value = match.group().partition(b"=")
        if len(name) > max_part_size or len(value) > max_part_size:
            raise FieldTooLarge(
                f"A form field is too large (limit: {max_part_size} bytes "
                "for its name and for its value)."
            )
        items.append(
            (_decode_form_component(name, charset), _decode_form_component(value, charset))
        )
    return items

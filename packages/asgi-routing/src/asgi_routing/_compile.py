"""Route templates: parsing ``/users/{id:int}`` into a regex, a format and index keys.

Pure functions, no I/O. A template is literal text with parameters ``{name}``,
``{name:type}`` or ``{name:re:PATTERN}``. A brace that does not open a well-formed
parameter is literal text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asgi_routing.convertors import (
    CONVERTOR_TYPES,
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    RegexConvertor,
    StringConvertor,
    UUIDConvertor,
)

__all__ = ["CompiledPath", "IndexKey", "compile_path", "compile_template", "parse_template"]

_PARAM_HEAD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?(\}|:)")
_PORT = re.compile(r":[0-9]*$")
_IDENTITY = (StringConvertor, PathConvertor, RegexConvertor)
_TRUSTED = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)

IndexKey = tuple[tuple[str | None, ...], bool]
"""Where the index files a path template: its segments (``None`` = any one segment)
and whether the template may continue past them (a ``path``-like parameter)."""


@dataclass(frozen=True)
class _Param:
    name: str
    convertor: Convertor[Any]


_Token = str | _Param


def _pattern_end(path: str, start: int) -> int:
    """Index of the ``}`` closing a ``re:`` pattern that starts at ``start``."""
    depth = 1
    index = start
    in_class = False
    while index < len(path):
        char = path[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member of the class.
            if path.startswith("]", index + 1):
                index += 1
            elif path.startswith("^]", index + 1):
                index += 2
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"Unterminated regular expression parameter in path {path!r}.")


def parse_template(path: str) -> list[_Token]:
    """Split a template into literal strings and parameters (merging adjacent text)."""
    tokens: list[_Token] = []
    literal: list[str] = []
    index = 0
    while index < len(path):
        match = _PARAM_HEAD.match(path, index) if path[index] == "{" else None
        if match is None:
            literal.append(path[index])
            index += 1
            continue
        name, kind, closer = match.group(1, 2, 3)
        convertor: Convertor[Any]
        if closer == ":":
            if kind != "re":
                # "{name:type:" is not a parameter; read it as literal text.
                literal.append(path[index])
                index += 1
                continue
            end = _pattern_end(path, match.end())
            pattern = path[match.end() : end]
            if not pattern:
                raise ValueError(f"Empty regular expression for parameter {name!r} in {path!r}.")
            convertor = RegexConvertor(pattern)
            index = end + 1
        else:
            kind = kind or "str"
            if kind not in CONVERTOR_TYPES:
                known = ", ".join(sorted(CONVERTOR_TYPES))
                raise ValueError(
                    f"Unknown path convertor {kind!r} in {path!r}. Known convertors: {known} "
                    "(or re:PATTERN); add one with register_url_convertor()."
                )
            convertor = CONVERTOR_TYPES[kind]
            index = match.end()
        if literal:
            tokens.append("".join(literal))
            literal = []
        tokens.append(_Param(name, convertor))
    if literal:
        tokens.append("".join(literal))
    return tokens


@dataclass(frozen=True)
class CompiledPath:
    """Everything the router needs to know about one template."""

    regex: re.Pattern[str]
    format: str
    convertors: dict[str, Convertor[Any]]
    parts: tuple[tuple[bool, str], ...]
    """``(is_param, text)`` pieces, to render a URL without re-parsing."""
    slash_checked: tuple[str, ...]
    """Parameters whose matched value must not contain ``/`` (untrusted convertors)."""
    conversions: tuple[tuple[str, Convertor[Any]], ...]
    """The parameters whose convertor changes the matched text (not ``str``/``path``)."""
    key: IndexKey | None
    """The index key (``None`` for host templates)."""


def _index_key(tokens: list[_Token]) -> IndexKey:
    segments: list[str | None] = []
    current: str | None = ""
    for position, token in enumerate(tokens):
        if isinstance(token, _Param):
            if not token.convertor.segment_local:
                return tuple(segments), True
            current = None
            continue
        text = token[1:] if position == 0 else token
        pieces = text.split("/")
        current = None if current is None else current + pieces[0]
        for piece in pieces[1:]:
            segments.append(current)
            current = piece
    segments.append(current)
    return tuple(segments), False


def _path_regex(tokens: list[_Token], is_host: bool) -> str:
    """The template's regex, segment by segment.

    A segment holding two or more parameters (``{name}.{ext}``) is matched atomically:
    a lookahead captures the segment up to its ``/`` (or the end) and a backreference
    consumes it, so a later mismatch never backtracks through every way of splitting
    it again. The chosen split is the one the plain regex would choose (every split
    ends at the same place), so only the cost changes, never the result. Only segments
    whose parameters are built-in convertors (which never match ``/``) are wrapped.
    """
    segments: list[list[str | _Param]] = [[]]
    for position, token in enumerate(tokens):
        if isinstance(token, _Param):
            segments[-1].append(token)
            continue
        text = token
        if is_host and position == len(tokens) - 1:
            text = _PORT.sub("", token)  # a port in a host template is not matched
        for index, piece in enumerate([text] if is_host else text.split("/")):
            if index:
                segments.append([])
            if piece:
                segments[-1].append(piece)
    groups = 0
    rendered: list[str] = []
    for segment in segments:
        params = [item for item in segment if isinstance(item, _Param)]
        atomic = len(params) > 1 and all(type(p.convertor) in _TRUSTED for p in params)
        if atomic:
            groups += 1
            helper = groups
        body: list[str] = []
        for item in segment:
            if isinstance(item, _Param):
                regex = item.convertor.regex
                body.append(f"(?P<{item.name}>{regex})")
                groups += 1 + re.compile(regex).groups
            else:
                body.append(re.escape(item))
        text = "".join(body)
        if atomic:
            text = f"(?=({text})(?:/|\\Z))\\{helper}"
        rendered.append(text)
    return "^" + "/".join(rendered) + "$"


def compile_template(path: str) -> CompiledPath:
    """Compile a path (``/...``) or host (``{sub}.example.org``) template."""
    is_host = not path.startswith("/")
    tokens = parse_template(path)
    format_parts: list[str] = []
    parts: list[tuple[bool, str]] = []
    convertors: dict[str, Convertor[Any]] = {}
    duplicates: list[str] = []
    for token in tokens:
        if isinstance(token, _Param):
            if token.name in convertors and token.name not in duplicates:
                duplicates.append(token.name)
            convertors[token.name] = token.convertor
            format_parts.append("{" + token.name + "}")
            parts.append((True, token.name))
            continue
        format_parts.append(token)
        parts.append((False, token))
    if duplicates:
        plural = "s" if len(duplicates) > 1 else ""
        raise ValueError(
            f"Duplicated param name{plural} {', '.join(duplicates)} at path {path}: "
            "each parameter name may appear once."
        )
    regex = re.compile(_path_regex(tokens, is_host), re.IGNORECASE if is_host else 0)
    slash_checked = tuple(
        name
        for name, convertor in convertors.items()
        if convertor.segment_local and type(convertor) not in _TRUSTED
    )
    conversions = tuple(
        (name, convertor)
        for name, convertor in convertors.items()
        if type(convertor) not in _IDENTITY
    )
    return CompiledPath(
        regex=regex,
        conversions=conversions,
        format="".join(format_parts),
        convertors=convertors,
        parts=tuple(parts),
        slash_checked=slash_checked,
        key=None if is_host else _index_key(tokens),
    )


def compile_path(path: str) -> tuple[re.Pattern[str], str, dict[str, Convertor[Any]]]:
    """Compile a template into ``(regex, format, convertors)``, as Starlette does.

    ``format`` is the template with convertor syntax removed (``/users/{id}``).
    Raises ``ValueError`` for a duplicated parameter name, an unknown convertor or an
    invalid ``re:`` pattern.
    """
    compiled = compile_template(path)
    return compiled.regex, compiled.format, compiled.convertors

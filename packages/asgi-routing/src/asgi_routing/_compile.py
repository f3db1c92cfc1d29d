"""Route templates: parsing ``/users/{id:int}`` into a regex, a format and index keys.

Pure functions, no I/O. A template is literal text with parameters ``{name}``,
``{name:type}`` or ``{name:re:PATTERN}``. A brace that is not part of a well-formed
parameter (``/u/{id``, ``/u/id}``, ``/{1x}``) is an error, never literal text: such a
route would never match what its author meant.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable
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
# The built-in convertors whose convert() is exactly this callable on what their regex
# admits (ASCII digits, a plain decimal, a UUID): the router calls it directly.
_DIRECT: dict[type[Convertor[Any]], Callable[[str], Any]] = {
    IntegerConvertor: int,
    FloatConvertor: float,
    UUIDConvertor: uuid.UUID,
}

MAX_SEGMENT_LENGTH = 1024
"""Longest path segment (or host) matched against a segment holding two parameters
that the linear matcher cannot split (one with an ``int``, ``float`` or ``uuid``
parameter, or any such segment in a template that also has ``path`` or ``re:``
parameters); a longer one does not match (404), so hostile input cannot make the
regex backtrack for long. The regex's cost grows with the power of the parameter
count, so three parameters allow 256 characters and each further one halves that
(see :func:`segment_bound`). Segments of ``str`` parameters and literals only
(``{name}.{ext}``, ``{a}-{b}-{c}``) have no bound: they are split in linear time."""


def segment_bound(params: int) -> int:
    """The longest text a regex-matched segment with ``params`` parameters may have."""
    if params <= 2:
        return MAX_SEGMENT_LENGTH
    return max(16, 256 >> (params - 3))


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


def _brace_error(path: str, index: int) -> ValueError:
    """The error for a brace at ``index`` that is not part of a parameter."""
    if path[index] == "}":
        problem = f"the '}}' at index {index} closes no parameter"
    else:
        end = path.find("}", index)
        if end < 0:
            problem = f"the '{{' at index {index} is never closed"
        else:
            problem = f"{path[index : end + 1]!r} is not a parameter"
    what = "path" if path.startswith("/") else "host"
    return ValueError(
        f"Invalid route {what} {path!r}: {problem}. Write a parameter as {{name}}, "
        "{name:convertor} or {name:re:PATTERN}, the name made of ASCII letters, digits "
        "and '_' (not starting with a digit)."
    )


def parse_template(path: str) -> list[_Token]:
    """Split a template into literal strings and parameters (merging adjacent text).

    Raises ``ValueError`` for a brace outside a well-formed parameter.
    """
    tokens: list[_Token] = []
    literal: list[str] = []
    index = 0
    while index < len(path):
        char = path[index]
        match = _PARAM_HEAD.match(path, index) if char == "{" else None
        if match is None:
            if char == "{" or char == "}":
                raise _brace_error(path, index)
            literal.append(char)
            index += 1
            continue
        name, kind, closer = match.group(1, 2, 3)
        convertor: Convertor[Any]
        if closer == ":":
            if kind != "re":  # "{name:type:...}"
                raise _brace_error(path, index)
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
class _Split:
    """A segment of literals and ``str`` parameters: ``literals[0] {names[0]}
    literals[1] ... {names[-1]} literals[-1]``."""

    literals: tuple[str, ...]
    names: tuple[str, ...]

    def match(self, text: str, fold: bool) -> dict[str, str] | None:
        """What ``[^/]+`` groups would capture, in linear time.

        The regex gives each parameter the longest value that still lets the rest of
        the segment match. The rest (``lit {p} lit ... {p} lit``) matches from every
        position up to some bound, since ``[^/]+`` takes any text: one right-to-left
        pass finds each literal's last usable occurrence, and those are exactly the
        places the greedy regex would settle on.
        """
        if "/" in text:
            return None
        literals = self.literals
        search = text.lower() if fold else text
        first, last = literals[0], literals[-1]
        start, end = len(first), len(text) - len(last)
        if end - start < len(self.names) or not (
            search.startswith(first) and search.endswith(last)
        ):
            return None
        # bound: the last position where the rest of the segment may start.
        bound = end - 1
        ends: list[int] = []
        for literal in literals[-2:0:-1]:
            found = search.rfind(literal, start + 1, bound)
            if found < 0:
                return None
            ends.append(found)
            bound = found - 1
        ends.reverse()
        params: dict[str, str] = {}
        position = start
        for name, stop, literal in zip(self.names[:-1], ends, literals[1:-1], strict=True):
            params[name] = text[position:stop]
            position = stop + len(literal)
        params[self.names[-1]] = text[position:end]
        return params


@dataclass(frozen=True)
class _SegmentMatcher:
    """Matches a template segment by segment (all its parameters stay in one segment)."""

    segments: tuple[str | tuple[re.Pattern[str], int] | _Split, ...]
    is_host: bool
    regex: re.Pattern[str]
    host_bound: int

    def match(self, text: str) -> dict[str, str] | None:
        if self.is_host:
            if not text.isascii():
                if len(text) > self.host_bound:
                    return None
                match = self.regex.fullmatch(text)
                return None if match is None else match.groupdict()
            pieces = [text]
        else:
            pieces = text.split("/")
            if len(pieces) != len(self.segments):
                return None
        params: dict[str, str] = {}
        for segment, piece in zip(self.segments, pieces, strict=True):
            if isinstance(segment, _Split):
                found = segment.match(piece, self.is_host)
                if found is None:
                    return None
                params.update(found)
            elif isinstance(segment, str):
                if piece != segment:
                    return None
            else:
                pattern, bound = segment
                if len(piece) > bound:
                    return None
                match = pattern.fullmatch(piece)
                if match is None:
                    return None
                params.update(match.groupdict())
        return params


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
    conversions: tuple[tuple[str, Callable[[str], Any]], ...]
    """The parameters whose convertor changes the matched text (not ``str``/``path``),
    with the function that converts it (``int`` itself for ``IntegerConvertor``)."""
    key: IndexKey | None
    """The index key (``None`` for host templates)."""
    matcher: _SegmentMatcher | None = None
    """A linear-time matcher, for templates whose segments hold several parameters."""
    segment_params: tuple[tuple[int, str, bool], ...] | None = None
    """For a path template whose parameters each fill a whole segment and are ``str``
    or ``int`` (``/users/{id:int}``): ``(position in path.split("/"), name, is_int)``
    per parameter. A path the index filed under the template's key (its literal
    segments, its segment count) matches if those segments are non-empty (``str``)
    or ASCII digits (``int``): the router matches them without the regex."""
    regex_limit: int = 0
    """Texts up to this length go to the regex even when there is a matcher: it is
    faster there, and its backtracking cannot cost much on so little text."""

    def match(self, text: str) -> dict[str, str] | None:
        """The named groups ``regex.fullmatch(text)`` captures, or ``None``.

        Segments holding several parameters are matched without regex backtracking
        (see ``MAX_SEGMENT_LENGTH``); the answer is the regex's whenever both finish.
        """
        matcher = self.matcher
        if matcher is not None and len(text) > self.regex_limit:
            return matcher.match(text)
        match = self.regex.fullmatch(text)
        return None if match is None else match.groupdict()


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


def _segments(tokens: list[_Token], is_host: bool) -> list[list[str | _Param]]:
    """The template's ``/``-separated segments (a host template is one segment)."""
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
    return segments


def _segment_matcher(
    tokens: list[_Token], is_host: bool, regex: re.Pattern[str]
) -> _SegmentMatcher | None:
    """A linear matcher when some segment holds several parameters and it is exact.

    Exact when every parameter is a built-in convertor that never matches ``/``: then
    the text splits at ``/`` into the template's segments, each matched on its own.
    """
    params = [token for token in tokens if isinstance(token, _Param)]
    if not all(type(param.convertor) in _TRUSTED for param in params):
        return None
    compiled: list[str | tuple[re.Pattern[str], int] | _Split] = []
    several = False
    for segment in _segments(tokens, is_host):
        names = [item.name for item in segment if isinstance(item, _Param)]
        if not names:
            compiled.append("".join(item for item in segment if isinstance(item, str)))
            continue
        several = several or len(names) > 1
        if len(names) > 1 and all(
            isinstance(item, str) or type(item.convertor) is StringConvertor for item in segment
        ):
            literals: list[str] = [""]
            for item in segment:
                if isinstance(item, str):
                    if is_host and not item.isascii():
                        return None  # Unicode case folding: leave it to the regex
                    literals[-1] += item.lower() if is_host else item
                else:
                    literals.append("")
            compiled.append(_Split(tuple(literals), tuple(names)))
            continue
        body = "".join(
            f"(?P<{item.name}>{item.convertor.regex})"
            if isinstance(item, _Param)
            else re.escape(item)
            for item in segment
        )
        # One parameter alone in its segment matches in linear time: no bound.
        bound = segment_bound(len(names)) if len(names) > 1 else sys.maxsize
        compiled.append((re.compile(body, re.IGNORECASE if is_host else 0), bound))
    if not several:
        return None
    return _SegmentMatcher(tuple(compiled), is_host, regex, segment_bound(len(params)))


def _segment_params(tokens: list[_Token]) -> tuple[tuple[int, str, bool], ...] | None:
    """See ``CompiledPath.segment_params``."""
    found: list[tuple[int, str, bool]] = []
    for position, segment in enumerate(_segments(tokens, False)):
        if len(segment) != 1 or isinstance(segment[0], str):
            if any(isinstance(item, _Param) for item in segment):
                return None
            continue
        kind = type(segment[0].convertor)
        if kind is not StringConvertor and kind is not IntegerConvertor:
            return None
        found.append((position, segment[0].name, kind is IntegerConvertor))
    return tuple(found)


def _path_regex(tokens: list[_Token], is_host: bool, bound: bool = False) -> str:
    """The template's regex, segment by segment.

    A segment holding two or more parameters (``{name}.{ext}``) is matched atomically:
    a lookahead captures the segment up to its ``/`` (or the end) and a backreference
    consumes it, so a later mismatch never backtracks through every way of splitting
    it again. The chosen split is the one the plain regex would choose (every split
    ends at the same place), so only the cost changes, never the result. Only segments
    whose parameters are built-in convertors (which never match ``/``) are wrapped.
    With ``bound``, such a segment longer than :func:`segment_bound` does not match.
    """
    segments = _segments(tokens, is_host)
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
            if bound:
                text = f"(?![^/]{{{segment_bound(len(params)) + 1}}})" + text
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
    flags = re.IGNORECASE if is_host else 0
    regex = re.compile(_path_regex(tokens, is_host), flags)
    matcher = _segment_matcher(tokens, is_host, regex)
    regex_limit = 0
    if matcher is not None:
        most = max(
            sum(isinstance(item, _Param) for item in segment)
            for segment in _segments(tokens, is_host)
        )
        regex_limit = segment_bound(most) // 4
    else:
        # No linear matcher: the regex itself refuses over-long many-parameter segments.
        regex = re.compile(_path_regex(tokens, is_host, bound=True), flags)
    slash_checked = tuple(
        name
        for name, convertor in convertors.items()
        if convertor.segment_local and type(convertor) not in _TRUSTED
    )
    conversions = tuple(
        (name, _DIRECT.get(type(convertor)) or convertor.convert)
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
        matcher=matcher,
        segment_params=None if is_host else _segment_params(tokens),
        regex_limit=regex_limit,
    )


def compile_path(path: str) -> tuple[re.Pattern[str], str, dict[str, Convertor[Any]]]:
    """Compile a template into ``(regex, format, convertors)``, as Starlette does.

    ``format`` is the template with convertor syntax removed (``/users/{id}``).
    Raises ``ValueError`` for a duplicated parameter name, an unknown convertor or an
    invalid ``re:`` pattern.
    """
    compiled = compile_template(path)
    return compiled.regex, compiled.format, compiled.convertors

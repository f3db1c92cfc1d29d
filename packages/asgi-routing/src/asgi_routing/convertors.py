"""Path parameter convertors: ``{name:type}`` in a route path.

A convertor gives the regular expression a parameter matches, turns the matched text
into a Python value (:meth:`Convertor.convert`) and turns a value back into path text
for URL reversal (:meth:`Convertor.to_string`).

Built-in types: ``str`` (the default), ``int``, ``float``, ``path`` and ``uuid``. Add
your own with :func:`register_url_convertor`. ``{name:re:PATTERN}`` constrains a
parameter with a regular expression of your own (see :class:`RegexConvertor`).
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "CONVERTOR_TYPES",
    "Convertor",
    "FloatConvertor",
    "IntegerConvertor",
    "PathConvertor",
    "RegexConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "register_url_convertor",
]

T = TypeVar("T")


class Convertor(Generic[T]):
    """Base class of path convertors.

    ``segment_local`` says the parameter never spans a ``/``; the router's index uses
    it to file the route under one path segment. A custom convertor that leaves it
    ``False`` (the default) still works, it is just indexed more coarsely. When it is
    ``True`` a matched value containing ``/`` is refused, so the promise always holds.
    """

    regex: str = ""
    segment_local: ClassVar[bool] = False

    def convert(self, value: str) -> T:
        """Turn the matched text into a value."""
        raise NotImplementedError()

    def to_string(self, value: T) -> str:
        """Turn a value back into path text (for URL reversal)."""
        raise NotImplementedError()


class StringConvertor(Convertor[str]):
    """One non-empty path segment."""

    regex = "[^/]+"
    segment_local = True

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        value = str(value)
        if "/" in value:
            raise ValueError(f"A 'str' path parameter may not contain '/': {value!r}.")
        if not value:
            raise ValueError("A 'str' path parameter may not be empty.")
        return value


class PathConvertor(Convertor[str]):
    """The rest of the path, slashes included (possibly empty)."""

    regex = ".*"

    def convert(self, value: str) -> str:
        return str(value)

    def to_string(self, value: str) -> str:
        return str(value)


class IntegerConvertor(Convertor[int]):
    """A non-negative decimal integer."""

    regex = "[0-9]+"
    segment_local = True

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if value < 0:
            raise ValueError(f"An 'int' path parameter must not be negative: {value}.")
        return str(value)


class FloatConvertor(Convertor[float]):
    """A non-negative decimal number such as ``3`` or ``2.5``."""

    regex = r"[0-9]+(?:\.[0-9]+)?"
    segment_local = True

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float) -> str:
        value = float(value)
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"A 'float' path parameter must be finite and >= 0: {value}.")
        return f"{value:0.20f}".rstrip("0").rstrip(".")


class UUIDConvertor(Convertor[uuid.UUID]):
    """A UUID: 32 hex digits of either case, with or without the dashes of the
    8-4-4-4-12 form (each dash is optional). The value is a ``uuid.UUID``, written back
    in its canonical lower-case, dashed form."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    segment_local = True

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        return str(value)


class RegexConvertor(Convertor[str]):
    """``{name:re:PATTERN}``: text inside one path segment that PATTERN matches in full.

    The pattern must compile on its own and have no capturing groups (they would
    clash with the route's own groups); a value never spans a ``/``.
    """

    segment_local = True

    def __init__(self, pattern: str) -> None:
        try:
            compiled = re.compile(f"(?:{pattern})")
        except re.error as exc:
            raise ValueError(f"Invalid regular expression {pattern!r} in path: {exc}.") from None
        if compiled.groups:
            raise ValueError(
                f"The regular expression {pattern!r} has capturing groups; use "
                "non-capturing (?:...) groups in path parameters."
            )
        self.pattern = pattern
        self.regex = f"(?:{pattern})"
        self._compiled = compiled

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        value = str(value)
        if "/" in value or self._compiled.fullmatch(value) is None:
            raise ValueError(f"{value!r} does not match the parameter's pattern {self.pattern!r}.")
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RegexConvertor) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"RegexConvertor({self.pattern!r})"


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}
"""The convertors a path may name, by key."""


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make ``{name:key}`` available in route paths (affects routes defined afterwards)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or key == "re":
        raise ValueError(f"Invalid convertor key {key!r}: use an identifier other than 're'.")
    CONVERTOR_TYPES[key] = convertor

"""Settings from environment variables and ``.env`` files.

``Config`` looks a key up in the environment first, then in the env file, then falls
back to the default; the value is then passed through ``cast``. ``Environ`` wraps
``os.environ`` and refuses to change a variable once it has been read, so a test cannot
silently alter a setting that was already used.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TypeVar, overload

__all__ = ["Config", "Environ", "EnvironError", "environ", "undefined"]

T = TypeVar("T")

_BOOLEANS: dict[str, bool] = {"true": True, "1": True, "false": False, "0": False}


class undefined:
    """The sentinel (the class itself, never instantiated) for "no default was given":
    reading a config value that is unset and has no default raises ``KeyError``."""


class EnvironError(Exception):
    """An environment variable was changed after it had been read."""


class Environ(MutableMapping[str, str]):
    """A mapping over ``os.environ`` that refuses to set or delete keys already read."""

    def __init__(self, environ: MutableMapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._has_been_read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self._has_been_read.add(key)
        return self._environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(
                f"Cannot set environ[{key!r}]: its value has already been read. "
                "Set environment variables before the settings are loaded."
            )
        self._environ[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(
                f"Cannot delete environ[{key!r}]: its value has already been read. "
                "Change environment variables before the settings are loaded."
            )
        del self._environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


environ = Environ()
"""The process environment, guarded against changes after a read."""


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _parse_env_file(text: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines; blank lines, ``#`` comments and lines without ``=``
    are skipped, an ``export`` prefix is allowed and one pair of quotes is removed."""
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        values[key] = _unquote(value.strip())
    return values


class Config:
    """Typed access to settings, e.g. ``DEBUG = config("DEBUG", cast=bool, default=False)``.

    ``env_prefix`` is prepended to every key looked up. A missing ``env_file`` only
    warns, so the same code runs where the settings come from the environment alone.
    """

    def __init__(
        self,
        env_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is not None:
            path = Path(env_file)
            if path.is_file():
                self.file_values = _parse_env_file(path.read_text(encoding=encoding))
            else:
                warnings.warn(f"Config file '{env_file}' not found.", stacklevel=2)

    @overload
    def __call__(self, key: str, *, default: None) -> str | None: ...

    @overload
    def __call__(self, key: str, cast: None = None, default: type[undefined] = ...) -> str: ...

    @overload
    def __call__(self, key: str, cast: None = None, default: T = ...) -> str | T: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T], default: None) -> T | None: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T], default: Any = ...) -> T: ...

    def __call__(
        self,
        key: str,
        cast: Callable[[Any], Any] | None = None,
        default: Any = undefined,
    ) -> Any:
        return self.get(key, cast, default)

    def get(
        self,
        key: str,
        cast: Callable[[Any], Any] | None = None,
        default: Any = undefined,
    ) -> Any:
        """Return ``key``'s value, cast; ``KeyError`` if it is unset and has no default."""
        key = self.env_prefix + key
        value: Any
        if key in self.environ:
            value = self.environ[key]
        elif key in self.file_values:
            value = self.file_values[key]
        elif default is not undefined:
            value = default
        else:
            raise KeyError(f"Config {key!r} is missing and has no default.")
        return self._cast(key, value, cast)

    @staticmethod
    def _cast(key: str, value: Any, cast: Callable[[Any], Any] | None) -> Any:
        if cast is None or value is None:
            return value
        if cast is bool and isinstance(value, str):
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                raise ValueError(
                    f"Config {key!r} has value {value!r}, which is not a valid bool "
                    "(use true/false or 1/0)."
                )
            return flag
        try:
            return cast(value)
        except (TypeError, ValueError) as exc:
            name = getattr(cast, "__name__", repr(cast))
            raise ValueError(f"Config {key!r} is not a valid {name}: {exc}") from exc

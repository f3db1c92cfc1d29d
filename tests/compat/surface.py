"""Compare Starlette 1.10's public surface with ours: names, class members, signatures.

Starlette's public names are read from its source (top-level definitions that do not start
with an underscore, plus `__all__`), so names a module merely imports do not count. Each
difference is one line keyed `starlette.module:Name[.member]`, so that the allowlist can
name exactly what it excuses.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from asgi_app import migrate

# Starlette module -> the module that stands for it here, and the names renamed on
# purpose: one table, the migration tool's (docs/migration.md, CONTRIBUTING.md).
MODULES: dict[str, str] = migrate.MODULES
RENAMED: dict[str, str] = migrate.RENAMED
# Dunder members compared besides public ones.
DUNDERS = ("__init__", "__call__")


def public_names(module: ModuleType) -> list[str]:
    """Top-level names a Starlette module defines itself (or lists in `__all__`)."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    names: list[str] = list(getattr(module, "__all__", []))
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        elif type(node).__name__ == "TypeAlias":  # `type X = ...`, Python 3.12+
            targets = [node.name]  # type: ignore[attr-defined]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return sorted({n for n in names if not n.startswith("_") and n != "annotations"})


def _default(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "<required>"
    name = getattr(value, "__qualname__", None)
    if name is not None:
        return RENAMED.get(name, name)
    if type(value).__repr__ is object.__repr__:  # an instance: compare its class only
        return f"<{type(value).__name__} instance>"
    return repr(value)


def is_attribute(member: Any) -> bool:
    """A property, or any other descriptor that computes a value (a cached attribute)."""
    if isinstance(member, property):
        return True
    if inspect.isfunction(member) or isinstance(member, classmethod | staticmethod):
        return False
    return hasattr(type(member), "__get__")


def describe_signature(obj: Any) -> list[tuple[str, str, str]] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind.name, _default(p.default)) for p in sig.parameters.values()]


def compare_callables(key: str, theirs: Any, ours: Any) -> Iterator[str]:
    a, b = describe_signature(theirs), describe_signature(ours)
    if a is None or b is None or a == b:
        return
    yield f"{key}: signature {_fmt(b)} here, {_fmt(a)} in Starlette"


def _fmt(params: list[tuple[str, str, str]]) -> str:
    kinds = {"POSITIONAL_ONLY": "/", "KEYWORD_ONLY": "*", "VAR_POSITIONAL": "*args"}
    out = []
    for name, kind, default in params:
        mark = kinds.get(kind, "**" if kind == "VAR_KEYWORD" else "")
        out.append(f"{mark}{name}" + ("" if default == "<required>" else f"={default}"))
    return "(" + ", ".join(out) + ")"


def class_members(cls: type) -> list[str]:
    """Public members (and __init__/__call__) a Starlette class defines in Starlette."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("starlette"):
            continue
        names.update(n for n in vars(klass) if not n.startswith("_") or n in DUNDERS)
    return sorted(names)


def compare_class(key: str, theirs: type, ours: Any) -> Iterator[str]:
    if not isinstance(ours, type):
        yield f"{key}: a class in Starlette, {type(ours).__name__} here"
        return
    for member in class_members(theirs):
        mkey = f"{key}.{member}"
        if not hasattr(ours, member):
            if member not in getattr(ours, "__dataclass_fields__", {}):
                yield f"{mkey}: missing"
            continue
        a, b = inspect.getattr_static(theirs, member), inspect.getattr_static(ours, member)
        if is_attribute(a) != is_attribute(b):
            yield f"{mkey}: {'an attribute' if is_attribute(a) else 'a method'} in Starlette"
            continue
        if callable(getattr(theirs, member)) and not is_attribute(a):
            yield from compare_callables(mkey, getattr(theirs, member), getattr(ours, member))


def compare_module(starlette_name: str, our_name: str) -> Iterator[str]:
    theirs = importlib.import_module(starlette_name)
    try:
        ours = importlib.import_module(our_name)
    except ImportError:
        yield f"{starlette_name}: no module {our_name}"
        return
    for name in public_names(theirs):
        key = f"{starlette_name}:{name}"
        if not hasattr(ours, RENAMED.get(name, name)):
            yield f"{key}: missing"
            continue
        a, b = getattr(theirs, name), getattr(ours, RENAMED.get(name, name))
        if isinstance(a, type):
            yield from compare_class(key, a, b)
        elif inspect.isfunction(a):
            yield from compare_callables(key, a, b)


def differences() -> list[str]:
    return [d for s, o in MODULES.items() for d in compare_module(s, o)]


def key_of(line: str) -> str:
    return line.split(": ", 1)[0]

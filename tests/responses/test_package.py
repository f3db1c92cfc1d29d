import importlib
import inspect
import pkgutil
import re
import types

import pytest

import asgi_responses

# The public modules whose names the package re-exports. `templating` is public too, but
# needs the `templates` extra (jinja2): it is imported from asgi_responses.templating only.
REEXPORTED = ["responses", "sse", "staticfiles"]
EXTRA_ONLY = ["templating"]


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_responses.__version__)


def test_every_public_module_is_listed() -> None:
    found = [m.name for m in pkgutil.iter_modules(asgi_responses.__path__)]
    assert sorted(name for name in found if not name.startswith("_")) == sorted(
        REEXPORTED + EXTRA_ONLY
    )


@pytest.mark.parametrize("name", REEXPORTED + EXTRA_ONLY)
def test_public_module_declares_all(name: str) -> None:
    module = importlib.import_module(f"asgi_responses.{name}")
    assert module.__all__
    for public in module.__all__:
        # defined there: the module is each name's home, not a second import path
        assert getattr(module, public).__module__ == module.__name__, public


@pytest.mark.parametrize("name", REEXPORTED)
def test_package_reexports_the_module(name: str) -> None:
    module = importlib.import_module(f"asgi_responses.{name}")
    for public in module.__all__:
        assert getattr(asgi_responses, public) is getattr(module, public), public
        assert public in asgi_responses.__all__, public


def test_init_defines_nothing_but_version() -> None:
    exported = {
        public
        for name in REEXPORTED
        for public in importlib.import_module(f"asgi_responses.{name}").__all__
    }
    assert set(asgi_responses.__all__) == exported
    for name, value in vars(asgi_responses).items():
        if name.startswith("__") or isinstance(value, types.ModuleType):
            continue
        assert name in exported, f"asgi_responses.{name} is defined in __init__"
    source = inspect.getsource(asgi_responses)
    assert not re.search(r"^(def|class|async def) ", source, re.M)

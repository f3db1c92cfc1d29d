import inspect
import pkgutil
import re
import types

import asgi_testkit
import asgi_testkit.testclient as testclient
from asgi_core.websockets import WebSocketDisconnect


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_testkit.__version__)


def test_testclient_is_the_only_public_module() -> None:
    found = [m.name for m in pkgutil.iter_modules(asgi_testkit.__path__)]
    assert [name for name in found if not name.startswith("_")] == ["testclient"]


def test_testclient_is_the_home_of_its_names() -> None:
    assert testclient.__all__
    for name in testclient.__all__:
        value = getattr(testclient, name)
        if value is WebSocketDisconnect:
            continue  # asgi-core's class, re-exported as Starlette's testclient does
        if isinstance(value, types.GenericAlias):
            continue  # a typing alias (ASGI2App...): it has no module of its own
        assert value.__module__ == "asgi_testkit.testclient", name


def test_package_reexports_testclient() -> None:
    for name in testclient.__all__:
        assert getattr(asgi_testkit, name) is getattr(testclient, name), name


def test_init_defines_nothing_but_version() -> None:
    assert set(asgi_testkit.__all__) == set(testclient.__all__)
    for name, value in vars(asgi_testkit).items():
        if name.startswith("__") or isinstance(value, types.ModuleType):
            continue
        assert name in testclient.__all__, f"asgi_testkit.{name} is defined in __init__"
    source = inspect.getsource(asgi_testkit)
    assert not re.search(r"^(def|class|async def) ", source, re.M)

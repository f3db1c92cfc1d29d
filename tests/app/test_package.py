import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import types

import pytest

import asgi_app
import asgi_app.applications as applications

# Where each curated re-export is defined publicly: `from asgi_app import X` is the same
# object as `from <module> import X`.
HOMES = {
    "asgi_app.applications": ["App"],
    "asgi_core.background": ["BackgroundTask", "BackgroundTasks"],
    "asgi_core.datastructures": [
        "URL",
        "Address",
        "CommaSeparatedStrings",
        "FormData",
        "Headers",
        "ImmutableMultiDict",
        "MultiDict",
        "MutableHeaders",
        "QueryParams",
        "Secret",
        "State",
        "URLPath",
        "UploadFile",
    ],
    "asgi_core.exceptions": ["HTTPException", "WebSocketException"],
    "asgi_core.requests": ["ClientDisconnect", "HTTPConnection", "Request"],
    "asgi_core.websockets": [
        "WebSocket",
        "WebSocketClose",
        "WebSocketDisconnect",
        "WebSocketState",
    ],
    "asgi_middleware": ["Middleware"],
    "asgi_responses.responses": [
        "FileResponse",
        "HTMLResponse",
        "JSONResponse",
        "PlainTextResponse",
        "RedirectResponse",
        "Response",
        "StreamingResponse",
    ],
    "asgi_responses.sse": ["EventSourceResponse", "ServerSentEvent"],
    "asgi_responses.staticfiles": ["StaticFiles"],
    "asgi_routing": ["Host", "Mount", "NoMatchFound", "Route", "Router", "WebSocketRoute"],
    "asgi_testkit.testclient": ["AsyncTestClient", "TestClient"],
}


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_app.__version__)


def test_applications_is_the_only_public_module() -> None:
    found = [m.name for m in pkgutil.iter_modules(asgi_app.__path__)]
    assert [name for name in found if not name.startswith("_")] == ["applications", "migrate"]


def test_applications_is_the_home_of_app() -> None:
    assert applications.__all__ == ["App", "AppType", "P"]
    assert applications.App.__module__ == "asgi_app.applications"
    assert asgi_app.App is applications.App


@pytest.mark.parametrize(("module", "names"), HOMES.items())
def test_reexports_are_the_public_names(module: str, names: list[str]) -> None:
    home = importlib.import_module(module)
    for name in names:
        assert name in home.__all__, f"{module}.{name}"
        assert getattr(asgi_app, name) is getattr(home, name), name


def test_init_defines_nothing_but_version() -> None:
    promised = {name for names in HOMES.values() for name in names}
    assert sorted(asgi_app.__all__) == sorted(promised)
    for name, value in vars(asgi_app).items():
        if name.startswith("__") or isinstance(value, types.ModuleType):
            continue
        if name in {"TYPE_CHECKING", "Any", "import_module", "_ON_FIRST_USE"}:
            continue  # the machinery of the test clients' import on first use
        assert name in promised, f"asgi_app.{name} is defined in __init__"
    source = inspect.getsource(asgi_app)
    # the one function: module-level __getattr__ (PEP 562) for the test clients
    assert re.findall(r"^(?:def|class|async def) (\w+)", source, re.M) == ["__getattr__"]


def test_serving_an_app_does_not_import_the_test_client_or_httpx() -> None:
    code = "import sys, asgi_app; print([m for m in ('httpx', 'asgi_testkit') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_test_clients_import_on_first_use_and_unknown_names_fail() -> None:
    from asgi_testkit import testclient

    assert asgi_app.TestClient is testclient.TestClient
    assert asgi_app.AsyncTestClient is testclient.AsyncTestClient
    with pytest.raises(AttributeError, match="has no attribute 'Starlette'"):
        asgi_app.Starlette  # noqa: B018

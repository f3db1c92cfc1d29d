import re

import asgi_routing
from asgi_routing import routing


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_routing.__version__)


def test_the_package_re_exports_the_routing_module() -> None:
    assert sorted(asgi_routing.__all__) == sorted(routing.__all__)
    for name in routing.__all__:
        assert getattr(asgi_routing, name) is getattr(routing, name), name
    assert asgi_routing.compile_path.__module__ == "asgi_routing._compile"

import re

import asgi_core


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_core.__version__)

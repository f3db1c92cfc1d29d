import re

import asgi_middleware


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_middleware.__version__)

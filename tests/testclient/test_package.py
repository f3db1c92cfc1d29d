import re

import asgi_testkit


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_testkit.__version__)

import re

import asgi_testclient


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", asgi_testclient.__version__)

"""The demo app (examples/demo) in process, with the test client: its OpenAPI schema is
readable in a browser and true for every operation, sizes are stated one way (the upload
page and its 413 agree), and the default secret key is announced loudly."""

from __future__ import annotations

import html
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from asgi_core.config import Config
from asgi_testkit import TestClient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `python -m pytest` from the root has it already
    sys.path.insert(0, str(ROOT))

from examples.demo import main as demo  # noqa: E402

MIB = 1024 * 1024


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(demo.app) as client:
        yield client


# -- the OpenAPI schema: readable in a browser, machine-readable for tools -----------------


def links_to(page: str, path: str) -> bool:
    return re.search(rf'href="(http://testserver)?{re.escape(path)}"', page) is not None


def test_the_schema_page_shows_the_yaml_in_the_browser(client: TestClient) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-disposition" not in page.headers  # shown, not downloaded
    shown = re.search(r'<pre class="schema">(.*?)</pre>', page.text, re.DOTALL)
    assert shown is not None, page.text
    assert html.unescape(shown[1]) == client.get("/openapi.yaml").text
    assert links_to(page.text, "/openapi.yaml")


def test_the_schema_page_escapes_the_yaml(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = {**demo.schemas.base_schema["info"], "title": "<script>alert(1)</script>"}
    monkeypatch.setitem(demo.schemas.base_schema, "info", info)
    page = client.get("/schema")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_yaml_endpoint_serves_tools(client: TestClient) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    schema = yaml.safe_load(response.text)
    assert schema["openapi"] == "3.0.0"
    assert "/api/items" in schema["paths"]
    # the pages that show the schema are not operations of the API
    assert "/schema" not in schema["paths"]
    assert "/openapi.yaml" not in schema["paths"]


def test_the_home_page_links_the_readable_page_and_the_yaml(client: TestClient) -> None:
    home = client.get("/")
    assert links_to(home.text, "/schema")
    assert links_to(home.text, "/openapi.yaml")


def test_notify_documents_each_method_with_its_own_status(client: TestClient) -> None:
    operations = yaml.safe_load(client.get("/openapi.yaml").text)["paths"]["/api/notify"]
    assert list(operations["get"]["responses"]) == [200]
    assert list(operations["post"]["responses"]) == [202]
    assert client.get("/api/notify").status_code == 200
    assert client.post("/api/notify").status_code == 202


# Values for the path parameters of the schema's paths (a new one must be added here).
PATH_EXAMPLES = {"item_id": "1"}
BODY_EXAMPLES = {"string": "Example", "number": 1.5, "integer": 1, "boolean": True}


def example_body(operation: dict[str, Any]) -> Any:
    """A valid JSON body for ``operation``, from its request body's schema."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "object", schema
    return {name: BODY_EXAMPLES[spec["type"]] for name, spec in schema["properties"].items()}


def documented_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of the schema /openapi.yaml serves (the test above checks it is
    this one), as ``(METHOD, path, operation)``."""
    schema = demo.schemas.get_schema(routes=demo.app.routes)
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


OPERATIONS = documented_operations()


def test_the_walk_sees_every_operation() -> None:
    assert {(method, path) for method, path, _ in OPERATIONS} == {
        ("GET", "/api/items"),
        ("POST", "/api/items"),
        ("GET", "/api/items/{item_id}"),
        ("GET", "/api/notify"),
        ("POST", "/api/notify"),
        ("GET", "/api/whoami"),
    }


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{method} {path}" for method, path, _ in OPERATIONS],
)
def test_every_operation_returns_the_status_it_documents(
    client: TestClient, method: str, path: str, operation: dict[str, Any]
) -> None:
    """A valid request gets the one success status its schema documents."""
    successes = [status for status in operation["responses"] if 200 <= int(status) < 300]
    assert len(successes) == 1, f"{method} {path} documents {successes}"
    url = re.sub(r"\{(\w+)\}", lambda found: PATH_EXAMPLES[found[1]], path)
    body = example_body(operation) if "requestBody" in operation else None
    response = client.request(method, url, json=body)
    assert response.status_code == int(successes[0]), (method, url, response.text)
    assert str(response.status_code) in {str(status) for status in operation["responses"]}


@pytest.mark.parametrize(
    ("method", "path", "url", "kwargs", "status"),
    [
        ("GET", "/api/items/{item_id}", "/api/items/999", {}, 404),
        ("POST", "/api/items", "/api/items", {"json": {"price": 1}}, 400),
        ("POST", "/api/items", "/api/items", {"json": {"name": "x", "price": "free"}}, 400),
    ],
)
def test_documented_errors_are_the_ones_returned(
    client: TestClient, method: str, path: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    operations = yaml.safe_load(client.get("/openapi.yaml").text)["paths"][path]
    assert status in operations[method.lower()]["responses"]
    assert client.request(method, url, **kwargs).status_code == status


# -- sizes: said one way, in the upload page and in every 413 ------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (5 * MIB, "5 MiB"),
        (5 * MIB + 64 * 1024, "5 MiB"),  # rounded down: never more than the real limit
        (5_000_000, "4.7 MiB"),
        (2_621_440, "2.5 MiB"),
        (64 * 1024, "64 KiB"),
        (1536, "1.5 KiB"),
        (100, "100 bytes"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert demo.human_size(size) == text


def limit_sentence() -> str:
    return f"{demo.MAX_UPLOAD_FILES} files and {demo.human_size(demo.MAX_UPLOAD_BYTES)} in one"


def test_the_upload_page_states_the_limit_in_mib(client: TestClient) -> None:
    page = client.get("/upload")
    assert f"At most {limit_sentence()} request" in page.text
    assert str(demo.MAX_UPLOAD_BYTES) not in page.text


def assert_upload_413(response: Any) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["connection"] == "close"
    limit = demo.human_size(demo.MAX_UPLOAD_BYTES)
    assert f"the limit is {limit} in one request" in response.text
    assert f"At most {limit_sentence()} request" in response.text  # the page's own words
    assert '<form method="post"' in response.text  # the form, to try again
    assert not re.search(r"\d{4,} bytes", response.text), response.text


def test_a_declared_body_over_the_limit_gets_the_demo_413_page(client: TestClient) -> None:
    big = b"x" * (demo.MAX_UPLOAD_BYTES + 1)
    assert_upload_413(client.post("/upload", files=[("files", ("big.bin", big, "x/y"))]))


def test_a_streamed_body_over_the_limit_gets_the_demo_413_page(client: TestClient) -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n'
    body = part + b"x" * (demo.MAX_UPLOAD_BYTES + 1) + b"\r\n--b--\r\n"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    headers = {"content-type": "multipart/form-data; boundary=b"}
    assert_upload_413(client.post("/upload", content=chunks(), headers=headers))


def test_an_upload_within_the_limit_passes(client: TestClient) -> None:
    payload = b"y" * MIB
    response = client.post("/upload", files=[("files", ("ok.bin", payload, "x/y"))])
    assert response.status_code == 200
    assert "ok.bin" in response.text
    assert 'class="error"' not in response.text


def test_other_413s_state_their_limit_in_mib(client: TestClient) -> None:
    body = b"[" + b" " * (3 * MIB) + b"]"  # over what json() buffers (2.5 MiB)
    api = client.post("/api/items", content=body, headers={"content-type": "application/json"})
    assert api.status_code == 413
    assert api.headers["connection"] == "close"
    assert "2.5 MiB" in api.json()["detail"]
    form = client.post("/login", data={"username": "x" * (3 * MIB), "password": "x"})
    assert form.status_code == 413
    assert form.headers["content-type"] == "text/plain; charset=utf-8"
    assert "2.5 MiB" in form.text
    assert not re.search(r"\d{4,} bytes", api.text + form.text)


# -- the secret key: the default one is announced loudly ------------------------------------


def test_the_default_secret_key_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    for environ in ({}, {"DEMO_SECRET_KEY": ""}, {"DEMO_SECRET_KEY": demo.DEFAULT_SECRET_KEY}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=demo.__name__):
            key = demo.read_secret_key(Config(environ=environ))
        assert str(key) == demo.DEFAULT_SECRET_KEY
        [record] = caplog.records
        assert record.levelno == logging.WARNING
        assert record.name == demo.__name__
        assert "DEMO_SECRET_KEY is not set" in record.getMessage()


def test_a_secret_key_from_the_environment_is_used_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger=demo.__name__):
        key = demo.read_secret_key(Config(environ={"DEMO_SECRET_KEY": "s3cret-from-env"}))
    assert str(key) == "s3cret-from-env"
    assert caplog.records == []


@pytest.mark.parametrize("secret", [None, "s3cret-from-env"])
def test_importing_the_demo_warns_only_without_a_key(secret: str | None) -> None:
    """At import, before any logging is configured (as under a server), the warning
    still reaches stderr."""
    env = {k: v for k, v in os.environ.items() if k != "DEMO_SECRET_KEY"}
    if secret is not None:
        env["DEMO_SECRET_KEY"] = secret
    done = subprocess.run(
        [sys.executable, "-c", "import examples.demo.main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    warned = "DEMO_SECRET_KEY is not set" in done.stderr
    assert warned == (secret is None), done.stderr

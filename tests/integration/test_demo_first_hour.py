"""The demo's first hour, under a real uvicorn: the OpenAPI link shows the schema in the
browser (and tools still get YAML), every documented status is the one returned, the
upload page and its 413 state the limit the same way, and starting without
``DEMO_SECRET_KEY`` prints a warning naming it."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
UPLOAD_LIMIT = "5 MiB"  # the demo's default DEMO_MAX_UPLOAD_BYTES, as it states it
KEY_WARNING = "DEMO_SECRET_KEY is not set"


@pytest.fixture(scope="module")
def demo(launch_module: Callable[[str], Any]) -> Any:
    return launch_module("uvicorn")


@pytest.fixture
def client(demo: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.base_url, timeout=30) as client:
        yield client


def test_the_openapi_link_shows_the_schema_in_the_browser(client: httpx.Client) -> None:
    home = client.get("/")
    assert re.search(r'<a href="[^"]*/schema">OpenAPI</a>', home.text)
    assert re.search(r'href="[^"]*/openapi\.yaml"', home.text)
    page = client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-disposition" not in page.headers
    shown = re.search(r'<pre class="schema">(.*?)</pre>', page.text, re.DOTALL)
    assert shown is not None, page.text
    raw = client.get("/openapi.yaml")
    assert raw.headers["content-type"] == "application/yaml"
    assert html.unescape(shown[1]) == raw.text
    assert "/api/notify" in yaml.safe_load(raw.text)["paths"]


def test_every_documented_status_is_the_one_returned(client: httpx.Client) -> None:
    paths = yaml.safe_load(client.get("/openapi.yaml").text)["paths"]
    seen = []
    for path, operations in paths.items():
        url = path.replace("{item_id}", "1")
        for method, operation in operations.items():
            [success] = [code for code in operation["responses"] if 200 <= int(code) < 300]
            body = {"name": "Lamp", "price": 12.5} if "requestBody" in operation else None
            response = client.request(method.upper(), url, json=body)
            assert response.status_code == int(success), (method, url, response.text)
            seen.append(f"{method.upper()} {path} {success}")
    assert "GET /api/notify 200" in seen
    assert "POST /api/notify 202" in seen


def assert_demo_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f"the limit is {UPLOAD_LIMIT} in one request" in response.text
    assert f"At most 3 files and {UPLOAD_LIMIT} in one request" in response.text
    assert not re.search(r"\d{4,} bytes", response.text), response.text


def test_the_upload_page_and_its_413_say_the_limit_the_same_way(client: httpx.Client) -> None:
    page = client.get("/upload")
    assert f"At most 3 files and {UPLOAD_LIMIT} in one request" in page.text
    big = b"x" * (6 * MIB)
    assert_demo_413(client.post("/upload", files=[("files", ("big.bin", big, "x/y"))]))


def test_a_streamed_upload_over_the_limit_gets_the_same_413(client: httpx.Client) -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n'
    body = part + b"x" * (6 * MIB) + b"\r\n--b--\r\n"

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    headers = {"content-type": "multipart/form-data; boundary=b"}
    assert_demo_413(client.post("/upload", content=chunks(), headers=headers))


def test_a_server_given_a_key_prints_no_warning(launch: Callable[[str], Any]) -> None:
    running = launch("uvicorn")  # conftest sets DEMO_SECRET_KEY
    assert httpx.get(running.base_url + "/").status_code == 200
    output = running.stop()
    assert "Application startup complete" in output
    assert KEY_WARNING not in output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_starting_on_the_default_key_warns_loudly() -> None:
    """`hatch run demo:serve` without DEMO_SECRET_KEY: the demo runs, and says why it
    must not be exposed like that, naming the variable to set."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DEMO_SECRET_KEY"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.demo.main:app", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "uvicorn exited"
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        assert home.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert KEY_WARNING in output
    assert "Set DEMO_SECRET_KEY" in output
    # printed while the application loads, before uvicorn says it is up
    assert output.index(KEY_WARNING) < output.index("Application startup complete")
    assert "Traceback" not in output

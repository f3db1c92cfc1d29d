"""CSRF in a real browser: headless Chromium against the demo served by uvicorn.

A page from a second loopback origin (``127.0.0.1`` on another port: same-site, which
SameSite=lax does not protect; ``localhost``: cross-site) auto-submits a form to the
demo and sends a credentialed ``fetch`` POST; the demo answers both with 403 (read from
Chromium's network log, since the attacking page cannot read the answers). The demo's
own forms, in the same browser, still work.

.ci/run installs `chromium` and `chromium-driver`; outside CI the test is skipped when
they are missing. Nothing here downloads a browser.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from integration.chromium import chromium, wait  # skips this module without Chromium
from selenium import webdriver
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.slow


ATTACK_PAGE = """<!doctype html>
<html><head><title>cute cats</title></head><body>
<form id="forged" method="post" action="{demo}/upload" enctype="multipart/form-data">
  <input name="note" value="forged by another site">
</form>
<script>
  fetch("{demo}/logout", {{method: "POST", credentials: "include", mode: "no-cors"}})
    .catch(() => null)
    .finally(() => document.getElementById("forged").submit());
</script>
</body></html>
"""


class AttackerServer:
    """A second web site on loopback that serves one attacking page."""

    def __init__(self, demo_url: str) -> None:
        page = ATTACK_PAGE.format(demo=demo_url).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def demo(launch_module: Callable[[str], Any]) -> Any:
    return launch_module("uvicorn")


@pytest.fixture(scope="module")
def attacker(demo: Any) -> Iterator[AttackerServer]:
    server = AttackerServer(demo.base_url)
    yield server
    server.close()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium(network_log=True) as driver:
        yield driver


def responses(driver: webdriver.Chrome) -> list[tuple[str, str, int]]:
    """(method, url, status) of every response since the last call."""
    requests: dict[str, str] = {}
    seen = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            request = params["request"]
            requests[params["requestId"]] = request["method"]
        elif message["method"] == "Network.responseReceived":
            response = params["response"]
            method = requests.get(params["requestId"], "?")
            seen.append((method, response["url"], int(response["status"])))
    return seen


def log_in(driver: webdriver.Chrome, base_url: str) -> None:
    driver.get(base_url + "/login?next=/private")
    driver.find_element(By.NAME, "username").send_keys("demo")
    driver.find_element(By.NAME, "password").send_keys("demo")
    driver.find_element(By.CSS_SELECTOR, "main form button").click()
    # the URL changes before the new page replaces the old one: wait for its text
    wait(
        driver,
        lambda d: (
            d.current_url.endswith("/private")
            and "Hello, demo" in d.find_element(By.TAG_NAME, "main").text
        ),
    )


def localhost_is_ipv4() -> bool:
    """Whether ``localhost`` reaches 127.0.0.1 here (it may resolve to ::1 only)."""
    try:
        return any(info[4][0] == "127.0.0.1" for info in socket.getaddrinfo("localhost", 80))
    except OSError:
        return False


@pytest.mark.parametrize("attacker_host", ["127.0.0.1", "localhost"])
def test_forged_form_and_fetch_are_refused(
    demo: Any, attacker: AttackerServer, browser: webdriver.Chrome, attacker_host: str
) -> None:
    if attacker_host == "localhost" and not localhost_is_ipv4():
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    log_in(browser, demo.base_url)
    responses(browser)  # forget the log-in's traffic

    browser.get(f"http://{attacker_host}:{attacker.port}/")
    # the forged form navigates the tab to the demo's answer
    wait(browser, lambda d: d.current_url.startswith(demo.base_url + "/upload"))
    # the URL changes before the new page replaces the old one (whose body has no text)
    page = wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").text or None)
    assert page.startswith("Forbidden (CSRF check failed):")
    seen = responses(browser)
    posts = {
        url.removeprefix(demo.base_url): status for method, url, status in seen if method == "POST"
    }
    assert posts["/logout"] == 403  # the fetch, with the session cookie when same-site
    assert posts["/upload"] == 403  # the auto-submitted form

    # the fetch did not log the user out, and the demo's own forms still work
    browser.get(demo.base_url + "/private")
    assert "Hello, demo" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(demo.base_url + "/upload")
    browser.find_element(By.NAME, "note").send_keys("my own note")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait(browser, lambda d: "Note: my own note" in d.find_element(By.TAG_NAME, "main").text)


def test_the_demo_api_form_posts_from_its_own_page(demo: Any, browser: webdriver.Chrome) -> None:
    browser.get(demo.base_url + "/")
    browser.find_element(By.NAME, "name").send_keys("Browser mouse")
    browser.find_element(By.CSS_SELECTOR, "#item-form button").click()
    result = wait(browser, lambda d: d.find_element(By.ID, "item-result").text or None)
    assert result.startswith("201 ")
    items = httpx.get(demo.base_url + "/api/items").json()
    assert any(item["name"] == "Browser mouse" for item in items)

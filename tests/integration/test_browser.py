"""The demo in a real browser: headless Chromium (Debian's) driven by chromedriver.

.ci/run installs `chromium` and `chromium-driver`; outside CI the test is skipped when
they are missing. Nothing here downloads a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.chromium import chromium, wait  # skips this module without Chromium
from selenium import webdriver
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(launch_module: Callable[[str], Any]) -> Any:
    return launch_module("uvicorn")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def test_home_page_renders_with_styles(
    demo: Any, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(demo.base_url + "/")
    assert browser.title == "Home · asgi-app demo"
    header = browser.find_element(By.TAG_NAME, "header")
    # the stylesheet from StaticFiles applied: the header is dark
    assert header.value_of_css_property("background-color") == "rgba(29, 35, 48, 1)"
    assert browser.save_screenshot(str(tmp_path / "home.png"))


def test_login_then_private_page(demo: Any, browser: webdriver.Chrome) -> None:
    browser.get(demo.base_url + "/private")
    # the URL changes before the new page's elements exist: wait for what is used next
    wait(browser, lambda d: "/login" in d.current_url and d.find_element(By.NAME, "username"))
    browser.find_element(By.NAME, "username").send_keys("demo")
    browser.find_element(By.NAME, "password").send_keys("demo")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait(
        browser,
        lambda d: (
            d.current_url.endswith("/private")
            and "Hello, demo" in d.find_element(By.TAG_NAME, "main").text
        ),
    )


def test_chat_between_two_tabs(demo: Any, browser: webdriver.Chrome) -> None:
    browser.get(demo.base_url + "/chat")
    first = browser.current_window_handle
    log = browser.find_element(By.ID, "chat-log")
    wait(browser, lambda d: "joined" in log.text)
    browser.switch_to.new_window("tab")
    browser.get(demo.base_url + "/chat")
    browser.find_element(By.ID, "chat-text").send_keys("hello from tab two")
    browser.find_element(By.CSS_SELECTOR, "#chat-form button").click()
    browser.switch_to.window(first)
    wait(browser, lambda d: "hello from tab two" in d.find_element(By.ID, "chat-log").text)


def test_server_sent_events_clock_ticks(demo: Any, browser: webdriver.Chrome) -> None:
    browser.get(demo.base_url + "/clock")
    clock = browser.find_element(By.ID, "clock")
    first = wait(browser, lambda d: clock.text if clock.text != "--:--:--" else None)
    wait(browser, lambda d: clock.text != first, seconds=5)

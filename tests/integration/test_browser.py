"""The demo in a real browser: headless Chromium (Debian's) driven by chromedriver.

.ci/run installs `chromium` and `chromium-driver`; outside CI the test is skipped when
they are missing. Nothing here downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium and chromium-driver")
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def demo(launch_module: Callable[[str], Any]) -> Any:
    return launch_module("uvicorn")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: webdriver.Chrome, condition: Callable[[Any], Any], seconds: float = 10) -> Any:
    return WebDriverWait(driver, seconds).until(condition)


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
    wait(browser, lambda d: "/login" in d.current_url)
    browser.find_element(By.NAME, "username").send_keys("demo")
    browser.find_element(By.NAME, "password").send_keys("demo")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait(browser, lambda d: d.current_url.endswith("/private"))
    assert "Hello, demo" in browser.find_element(By.TAG_NAME, "main").text


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

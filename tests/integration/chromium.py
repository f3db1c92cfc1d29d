"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) for the browser tests.

Importing this module skips the importing test module when the browser is missing, and
fails it under CI (``.ci/run`` installs both). Nothing here downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium and chromium-driver")
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FLAGS = (
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
)


@contextmanager
def chromium(*, network_log: bool = False) -> Iterator[webdriver.Chrome]:
    """A fresh headless browser with its own throwaway profile, quit on exit.

    ``network_log`` records Chromium's performance log (``driver.get_log("performance")``),
    which holds the status of every response, also those a page cannot read.
    """
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: webdriver.Chrome, condition: Callable[[Any], Any], seconds: float = 10) -> Any:
    """Poll ``condition(driver)`` until it is truthy (its value), or time out. An element
    missing, or replaced by a navigation while ``condition`` reads it, means "not yet"."""
    waiting = WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(condition)

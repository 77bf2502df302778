"""Headless Chromium for the tests, driven by Selenium through Debian's chromedriver.

``scripts/ensure-chromium.sh`` (run by ``make test``) installs ``chromium`` and
``chromium-driver``; ``CHROMIUM`` and ``CHROMEDRIVER`` may point at other binaries. As root
Chromium refuses to start without ``--no-sandbox``; ``/dev/shm`` is small in containers, so it
writes shared memory to /tmp instead.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

MISSING_CHROMIUM = (
    "{what} not found; run `make test`, which installs it (scripts/ensure-chromium.sh), "
    "or apt-get install chromium chromium-driver"
)

T = TypeVar("T")


def _binary(env: str, *names: str) -> str:
    given = os.environ.get(env)
    if given:
        if not os.access(given, os.X_OK):
            pytest.fail(f"${env}={given} is not an executable", pytrace=False)
        return given
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(MISSING_CHROMIUM.format(what=names[0]), pytrace=False)


def chromium_binary() -> str:
    return _binary("CHROMIUM", "chromium", "chromium-browser")


def chromedriver_binary() -> str:
    return _binary("CHROMEDRIVER", "chromedriver")


@contextmanager
def headless_chromium(*, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A ``selenium.webdriver.Chrome`` on headless Chromium; quit when the block ends."""
    # Selenium Manager would look for (and download) a driver when none is given; it is given.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary()
    for arg in (
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    # The page's console (errors included) for the failure messages: driver.get_log("browser").
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver_binary()))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "the page") -> T:
    """Calls ``check`` until it returns something truthy (returned) or ``timeout`` passes (a
    test failure naming ``what``). A generous deadline, not a latency assertion."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            got = check()
            if got:
                return got
        except Exception as e:  # noqa: BLE001 - a stale element or a page mid-render
            last = e
        if time.monotonic() > deadline:
            detail = f" (last error: {last!r})" if last else ""
            pytest.fail(f"{what}: not there after {timeout:.0f} s{detail}", pytrace=False)
        time.sleep(0.1)


def console_log(driver: Any) -> str:
    """The page's console messages, for a failure message."""
    try:
        return "\n".join(f"{m['level']}: {m['message']}" for m in driver.get_log("browser"))
    except Exception:  # noqa: BLE001 - informational only
        return ""


def screenshot(driver: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path

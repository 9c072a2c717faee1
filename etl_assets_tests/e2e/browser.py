"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium.

Nothing is downloaded: the browser and its driver are the system's. The flags keep Chromium
off the network (no background fetches, which hang on a closed network) and run it as root
in a container (no sandbox), with a fresh profile each time.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver) when both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextmanager
def headless_chromium(width: int = 1800, height: int = 1500) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binaries = chromium_binaries()
    if binaries is None:
        raise RuntimeError("chromium and chromedriver are not installed (apt-get install ...)")
    browser, driver_path = binaries
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = Options()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_asset_lineage(
    base_url: str,
    screenshot: Path,
    expected: Sequence[str],
    timeout: float = 60,
    size: tuple[int, int] = (1800, 1500),
) -> str:
    """Opens the global asset lineage, expands every group, waits for `expected` texts on the
    page and saves a screenshot. Returns the page's text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium(*size) as driver:
        driver.get(f"{base_url}/asset-groups")
        page = WebDriverWait(driver, timeout, poll_frequency=0.5)

        def body() -> str:
            return driver.find_element(By.TAG_NAME, "body").text

        def shows_all() -> bool:
            return all(word in body() for word in expected)

        # The graph shows collapsed groups first: "bronze" over its asset count.
        page.until(lambda _: re.search(r"^bronze\n\d+$", body(), re.MULTILINE))
        deadline = time.monotonic() + timeout
        zoomed_out = 0
        while not shows_all():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the lineage page never showed {expected}:\n{body()}")
            if not re.search(r"^bronze\n\d+$", body(), re.MULTILINE) and zoomed_out < 6:
                # Expanded, but the graph draws only the nodes inside the viewport: zoom out.
                _zoom_out(driver)
                zoomed_out += 1
                time.sleep(1)
                continue
            # Alt+E is the graph's "Expand all groups"; pressed again only if it was lost.
            ActionChains(driver).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()
            try:
                WebDriverWait(driver, 10, poll_frequency=0.5).until(lambda _: shows_all())
            except TimeoutException:
                continue
        text = body()
        _make_room(driver)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
        return text


def _make_room(driver) -> None:
    """Hides the navigation and the asset list, and zooms out once: the graph fits."""
    from selenium.webdriver.common.by import By

    for hide in driver.find_elements(By.XPATH, "//button[normalize-space()='Hide navigation']"):
        hide.click()
    time.sleep(0.5)
    _zoom_out(driver)
    buttons = driver.find_elements(By.TAG_NAME, "button")
    panel = [b for b in buttons if 200 < b.location["x"] < 400 and b.location["y"] < 100]
    if panel:
        panel[0].click()  # collapses the asset list beside the graph
    time.sleep(1.5)  # the graph animates to its new size


def _zoom_out(driver) -> None:
    """Clicks the graph's zoom-out button (bottom right: zoom in, zoom out, settings, ...)."""
    from selenium.webdriver.common.by import By

    size = driver.get_window_size()
    zoom = sorted(
        (
            b
            for b in driver.find_elements(By.TAG_NAME, "button")
            if b.location["x"] > size["width"] - 80 and b.location["y"] > size["height"] / 3
        ),
        key=lambda b: b.location["y"],
    )
    if len(zoom) >= 2:
        zoom[1].click()

"""What a user sees in the UI after `make run` then `make dev`: the sample as fresh data.

A sample that ends yesterday (the `etl-assets sample` default), one `etl-assets run`, then
`dagster dev` on the same instance. In a headless browser: the partitions begin where the
data begins (nothing missing), each day of silver/orders shows its own figures, and the
quarantine shows the count per reason and a preview of the rejected rows.
Screenshots go to the test artifacts; with ETL_UPDATE_DOCS_SCREENSHOTS=1 also to docs/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_assets.settings import yesterday_in
from etl_assets_tests.e2e.browser import (
    chromium_binaries,
    headless_chromium,
    screenshot_asset_lineage,
)
from etl_assets_tests.e2e.conftest import artifacts_dir
from etl_assets_tests.e2e.dagster_dev import DagsterDev

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium_binaries() is None, reason="chromium is not installed"),
]

REPO = Path(__file__).parents[2]
DAYS = 4


def _screenshots() -> list[Path]:
    places = [artifacts_dir()]
    if os.environ.get("ETL_UPDATE_DOCS_SCREENSHOTS"):
        places.append(REPO / "docs" / "images")
    for place in places:
        place.mkdir(parents=True, exist_ok=True)
    return places


@pytest.fixture(scope="module")
def sample_days() -> list[str]:
    last = yesterday_in("UTC")
    return [(last - dt.timedelta(days=n)).isoformat() for n in range(DAYS - 1, -1, -1)]


@pytest.fixture(scope="module")
def after_make_run(tmp_path_factory, sample_days):
    root = tmp_path_factory.mktemp("ui")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(
        ETL_DATA_DIR=str(root / "data"), DAGSTER_HOME=str(root / "home"), PYTHONPATH=str(REPO)
    )
    (root / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / "home" / "dagster.yaml")
    cli = [sys.executable, "-m", "etl_assets.cli"]
    sample = [*cli, "sample", "--out", str(root / "data"), "--days", str(DAYS)]
    for command in ([*sample, "--rows-per-day", "1000"], [*cli, "run"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS - {DAYS} days ({sample_days[0]} .. {sample_days[-1]})" in done.stdout
    dev = DagsterDev(home=root / "home", data_dir=root / "data", log_path=root / "dev.log")
    try:
        dev.start()
        dev.graphql("mutation { setNuxSeen }")  # no first-visit dialog over the pages
        yield dev
    finally:
        dev.stop()
        shutil.copy(dev.log_path, artifacts_dir() / "dagster-dev-ui.log")


def _page(driver, url: str, until: list[str], timeout: float = 60) -> str:
    from selenium.webdriver.common.by import By

    driver.get(url)
    deadline = time.monotonic() + timeout
    while True:
        text = driver.find_element(By.TAG_NAME, "body").text
        if all(word in text for word in until):
            return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} never showed {until}:\n{text}")
        time.sleep(0.5)


def _metadata(text: str, name: str) -> str:
    """The value shown under a metadata entry's name in the partition's details."""
    match = re.search(rf"^{re.escape(name)}\n(.+)$", text, re.MULTILINE)
    assert match, f"{name} is not on the page:\n{text}"
    return match.group(1)


def test_partitions_view_shows_every_sample_day_with_its_own_figures(after_make_run, sample_days):
    base = f"{after_make_run.url}/assets/silver/orders?view=partitions"
    with headless_chromium() as driver:
        figures = {}
        for day in sample_days:
            text = _page(driver, f"{base}&partition={day}", ["dagster/row_count", "rows_in"])
            # the partitions begin where the data begins: every day there, none missing
            assert f"Materialized ({DAYS})" in text and "Missing (0)" in text
            figures[day] = (
                int(_metadata(text, "dagster/row_count").replace(",", "")),
                int(_metadata(text, "bytes").replace(",", "")),
                _metadata(text, "path"),
            )
            assert figures[day][2].endswith(f"{day}.parquet")
        driver.execute_script("window.scrollTo(0, 0)")
        for place in _screenshots():
            driver.save_screenshot(str(place / "silver-orders-partitions.png"))
    rows = [figure[0] for figure in figures.values()]
    assert len(set(rows)) > 1, figures  # each day its own count, not the range's total
    assert sum(rows) < DAYS * 1000  # every day under its bronze lines (rejects, duplicates)


def test_quarantine_shows_reasons_and_a_preview_of_rejected_rows(after_make_run, sample_days):
    from selenium.webdriver.common.by import By

    day = sample_days[1]
    url = f"{after_make_run.url}/assets/silver/orders_quarantine?view=partitions&partition={day}"
    with headless_chromium() as driver:
        text = _page(driver, url, ["reject_reasons", "rejected_rows_preview", "_reject_detail"])
        preview = driver.find_element(By.XPATH, "//*[text()='rejected_rows_preview']")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", preview)
        for place in _screenshots():
            driver.save_screenshot(str(place / "quarantine.png"))
    assert int(_metadata(text, "rejected_invalid_encoding")) >= 1
    # the preview: the original values of a rejected line, its reason and what was wrong
    assert "InvoiceNo" in text and "_reject_reason" in text
    assert re.search(r"Quantity='[^']+' is not an integer|is not valid UTF-8", text), text


def test_asset_graph(after_make_run):
    places = _screenshots()
    text = screenshot_asset_lineage(
        after_make_run.url,
        places[0] / "asset-graph.png",
        expected=["bronze", "silver", "gold", "orders_quarantine", "daily_sales", "customer_rfm"],
        size=(1800, 2200),  # tall enough for the five layers, landing to the marts
    )
    for place in places[1:]:
        shutil.copy(places[0] / "asset-graph.png", place / "asset-graph.png")
    assert "customer_rfm" in text

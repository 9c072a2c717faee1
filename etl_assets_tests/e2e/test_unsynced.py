"""End to end: a replaced landing file, once observed, makes that day unsynced in the
webserver, with Dagster's cause, and the UI page that shows why (a screenshot for the docs).

Its own `dagster dev` (not the shared one: that one switches the landing sensor on, which
would run the replaced day at once): `etl-assets run` materializes two days first on the
same instance, one day's orders file is replaced, the `landing_observations` job runs
through the webserver and the daemon, then GraphQL reads the stale status of each day.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl_assets.automation.jobs import OBSERVATION_JOB
from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.e2e.browser import chromium_binaries, headless_chromium
from etl_assets_tests.e2e.conftest import artifacts_dir
from etl_assets_tests.e2e.dagster_dev import LOCATION, REPO, REPOSITORY, DagsterDev

pytestmark = pytest.mark.e2e

DAYS = ("2024-01-01", "2024-01-02")
REPLACED = "2024-01-02"
SCREENSHOT = REPO / "docs" / "images" / "unsynced-partition.png"
RUN_TIMEOUT = 150

STALE = """
query Stale($key: AssetKeyInput!, $partition: String) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      staleStatus(partition: $partition)
      staleCauses(partition: $partition) {
        key { path } partitionKey reason category dependency { path } dependencyPartitionKey
      }
    }
  }
}
"""
RUN_STATUS = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""


@pytest.fixture(scope="module")
def replaced(tmp_path_factory, sample_of):
    """A server on an instance where both days ran, then one day's file was replaced and
    observed by the observation job launched through the webserver."""
    root = tmp_path_factory.mktemp("unsynced")
    data = copy_landing(sample_of(days=len(DAYS), rows_per_day=300, seed=7), root / "data")
    home = root / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "ETL_DATA_DIR": str(data)}
    cli = [sys.executable, "-m", "etl_assets.cli", "run"]
    subprocess.run(cli, env=env, cwd=REPO, check=True, capture_output=True, timeout=600)
    orders = data / "landing" / "orders" / f"orders_{REPLACED}.csv"
    orders.write_bytes(orders.read_bytes().rstrip(b"\n").rsplit(b"\n", 2)[0] + b"\n")

    dev = DagsterDev(home=home, data_dir=data, log_path=root / "dagster-dev.log")
    try:
        dev.start()
        run_id = dev.client.submit_job_execution(
            OBSERVATION_JOB, repository_location_name=LOCATION, repository_name=REPOSITORY
        )

        def finished():
            status = dev.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        assert dev.wait_for(finished, RUN_TIMEOUT, "the observation run", every=1) == "SUCCESS"
        yield dev
    finally:
        dev.stop()
        shutil.copy(dev.log_path, artifacts_dir() / "dagster-dev-unsynced.log")


def _stale(dev: DagsterDev, asset: str, partition: str | None) -> tuple[str, list[dict]]:
    key = {"path": asset.split("/")}
    node = dev.graphql(STALE, {"key": key, "partition": partition})["assetNodeOrError"]
    return node["staleStatus"], node["staleCauses"]


def test_the_replaced_day_is_unsynced_the_other_day_fresh(replaced):
    status, causes = _stale(replaced, "bronze/orders", REPLACED)
    assert status == "STALE"
    # Dagster's root cause and wording: landing/orders, that day, "has a new data version".
    assert [(c["key"]["path"], c["partitionKey"], c["category"], c["reason"]) for c in causes] == [
        (["landing", "orders"], REPLACED, "DATA", "has a new data version")
    ]
    # Dagster does not pass "unsynced" down a stale asset: silver and gold of that day show
    # it once bronze is materialized again (then with "has a new dependency data version");
    # `etl-assets run --changed` runs them in the same go (test_changed.py).
    # The other day, the other source: fresh.
    for asset, partition in [
        ("bronze/orders", DAYS[0]),
        ("bronze/customers", REPLACED),
        ("silver/customers", None),
    ]:
        assert _stale(replaced, asset, partition) == ("FRESH", []), asset


@pytest.mark.skipif(chromium_binaries() is None, reason="chromium is not installed")
def test_the_ui_shows_why_the_day_is_unsynced(replaced):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    replaced.graphql("mutation { setNuxSeen }")
    url = f"{replaced.url}/assets/bronze/orders?view=partitions&partition={REPLACED}"
    with headless_chromium(width=1600, height=1000) as driver:
        driver.get(url)

        def body() -> str:
            return driver.find_element(By.TAG_NAME, "body").text

        WebDriverWait(driver, 60, poll_frequency=0.5).until(lambda _: "Unsynced" in body())
        time.sleep(1)
        text = body()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
        Path(artifacts_dir() / "unsynced-partition.txt").write_text(text)
    assert REPLACED in text and "Unsynced" in text

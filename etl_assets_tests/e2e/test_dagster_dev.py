"""End to end through the real webserver and daemon (`dagster dev`), as an operator uses them.

The tests share one server and run in this order: asset graph; a CLI backfill of a day range
(launched first, the daemon picks it up within 30 s); one partition by hand with its checks;
the backfill's single run; the landing sensor taking a new day to gold; the lineage page in
a browser; a clean shutdown.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
import requests

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.automation.sensors import LANDING_SENSOR
from etl_assets_tests.e2e.browser import chromium_binaries, screenshot_asset_lineage
from etl_assets_tests.e2e.conftest import NEW_DAY, START, artifacts_dir, land_new_day
from etl_assets_tests.e2e.dagster_dev import LOCATION, REPO, REPOSITORY

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 150  # seconds: a run waits in the queue, loads the code and the quality suites
SECOND_DAY = "2024-01-02"
DAILY_ASSETS = [
    "bronze/orders",
    "bronze/customers",
    "silver/orders",
    "silver/orders_quarantine",
    "gold/daily_sales",
]
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status tags { key value } } }
  }
}
"""
RUN_CHECKS = """
query Checks($runId: ID!) {
  logsForRun(runId: $runId, limit: 5000) {
    ... on EventConnection {
      events {
        __typename
        ... on AssetCheckEvaluationEvent {
          evaluation { checkName success partition assetKey { path } }
        }
      }
    }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { isAssetBackfill runs(limit: 20) { runId status tags { key value } } }
  }
}
"""
START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename ... on Sensor { sensorState { status } } ... on PythonError { message }
  }
}
"""
SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor { sensorState { ticks(limit: 20) { status skipReason runIds } } }
  }
}
"""
MATERIALIZED = """
query Materialized($key: AssetKeyInput!, $partition: String!) {
  assetNodes(assetKeys: [$key]) { assetMaterializations(partitions: [$partition]) { runId } }
}
"""


def tags_of(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def wait_for_run(server, run_id: str) -> str:
    return server.wait_for(
        lambda: (status := server.client.get_run_status(run_id).value) in FINISHED and status,
        RUN_TIMEOUT,
        f"run {run_id} to finish",
    )


@pytest.fixture(scope="module")
def backfill_id(server) -> str:
    """A backfill of the first two days of the daily assets, launched from the command line."""
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "etl_assets.cli",
            "backfill",
            "--url",
            server.url,
            "--from",
            START,
            "--to",
            SECOND_DAY,
            "--assets",
            *DAILY_ASSETS,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert launched.returncode == 0, launched.stderr
    return launched.stdout.split()[1]  # "backfill <id> launched: <url>"


def test_asset_graph_has_the_medallion_edges(server):
    nodes = server.graphql("{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }")
    edges, groups = set(), {}
    for node in nodes["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        groups[key] = node["groupName"]
        edges |= {("/".join(dep["path"]), key) for dep in node["dependencyKeys"]}
    assert {
        ("bronze/orders", "silver/orders"),
        ("bronze/orders", "silver/orders_quarantine"),
        ("silver/orders", "gold/daily_sales"),
        # the whole-history marts combine daily aggregates of silver/orders
        ("silver/orders", "gold/customer_daily"),
        ("gold/customer_daily", "gold/customer_rfm"),
        ("gold/customer_daily", "gold/cohort_retention"),
        ("silver/orders", "gold/product_daily"),
        ("gold/product_daily", "gold/product_performance"),
        ("landing/orders", "bronze/orders"),
        ("bronze/customers", "silver/customers"),
        ("bronze/products", "silver/products"),
        ("silver/products", "gold/product_performance"),
    } <= edges
    assert all(group == key.split("/")[0] for key, group in groups.items())


def test_backfill_from_the_command_line_is_accepted(server, backfill_id):
    backfill = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    assert backfill["isAssetBackfill"]  # the UI's kind: it honours the single-run policy


def test_one_partition_materializes_with_its_checks(server):
    run_id = server.client.submit_job_execution(
        MEDALLION_JOB,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        tags={"dagster/partition": START},
    )
    assert wait_for_run(server, run_id) == "SUCCESS"
    events = server.graphql(RUN_CHECKS, {"runId": run_id})["logsForRun"]["events"]
    evaluations = [
        e["evaluation"] for e in events if e["__typename"] == "AssetCheckEvaluationEvent"
    ]
    results = {
        ("/".join(e["assetKey"]["path"]), e["checkName"], e["partition"]): e["success"]
        for e in evaluations
    }
    assert results[("silver/orders", "row_accounting", START)] is True
    assert any(key[0].startswith("gold/") for key in results)  # every layer was checked
    assert all(results.values()), {key: ok for key, ok in results.items() if not ok}


def test_backfill_runs_the_day_range_in_one_run(server, backfill_id):
    def finished_runs():
        backfill = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        runs = backfill["runs"]
        return runs if runs and all(r["status"] in FINISHED for r in runs) else None

    [run] = server.wait_for(finished_runs, RUN_TIMEOUT, f"the runs of backfill {backfill_id}")
    assert run["status"] == "SUCCESS"
    tags = tags_of(run)
    assert tags["dagster/asset_partition_range_start"] == START
    assert tags["dagster/asset_partition_range_end"] == SECOND_DAY


def test_landing_sensor_takes_a_new_day_to_gold(server, e2e_root):
    selector = server.selector(sensorName=LANDING_SENSOR)
    started = server.graphql(START_SENSOR, {"selector": selector})["startSensor"]
    assert started["__typename"] == "Sensor", started

    def ticks():
        data = server.graphql(SENSOR_TICKS, {"selector": selector})["sensorOrError"]
        return data["sensorState"]["ticks"]

    # Its first look finds every landed day materialized already: nothing to run.
    first = server.wait_for(ticks, 60, "the landing sensor's first tick")
    assert not any(tick["runIds"] for tick in first)
    land_new_day(e2e_root)

    def sensor_runs():
        filter_ = {"tags": [{"key": "dagster/sensor_name", "value": LANDING_SENSOR}]}
        runs = server.graphql(RUNS, {"filter": filter_})["runsOrError"]["results"]
        return runs if len(runs) == 2 and all(r["status"] in FINISHED for r in runs) else None

    runs = server.wait_for(sensor_runs, RUN_TIMEOUT, "the landing sensor's two runs")
    assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"]
    by_file = {tags_of(r)["etl/landing_file"]: tags_of(r) for r in runs}
    orders_file = e2e_root / "data" / "landing" / "orders" / f"orders_{NEW_DAY}.csv"
    checksum = hashlib.sha256(orders_file.read_bytes()).hexdigest()
    orders = by_file[f"orders/orders_{NEW_DAY}.csv"]
    assert orders["dagster/run_key"] == f"orders/orders_{NEW_DAY}.csv@{checksum}"
    assert orders["dagster/partition"] == NEW_DAY

    gold = server.graphql(
        MATERIALIZED, {"key": {"path": ["gold", "daily_sales"]}, "partition": NEW_DAY}
    )["assetNodes"][0]["assetMaterializations"]
    assert gold and gold[0]["runId"] in {r["runId"] for r in runs}
    assert (e2e_root / "data" / "lake" / "gold" / "daily_sales" / f"{NEW_DAY}.parquet").exists()


@pytest.mark.skipif(chromium_binaries() is None, reason="chromium and chromedriver not installed")
def test_asset_lineage_page_shows_every_layer(server):
    server.graphql("mutation { setNuxSeen }")  # no first-visit newsletter dialog over the graph
    screenshot = artifacts_dir() / "asset-lineage.png"
    text = screenshot_asset_lineage(
        server.url,
        screenshot,
        # Every group and the assets of each layer; the graph abbreviates long names in the
        # middle ("produ…_performance").
        expected=[
            "landing",
            "bronze",
            "silver",
            "gold",
            "orders_quarantine",
            "daily_sales",
            "customer_daily",
            "customer_rfm",
            "cohort_retention",
            "_performance",
        ],
    )
    assert all(group in text.splitlines() for group in ("landing", "bronze", "silver", "gold"))
    assert screenshot.stat().st_size > 10_000  # a picture, not an empty page


def test_shuts_down_cleanly(server):
    process = server.process
    clean = server.stop(timeout=90)
    assert clean, f"dagster dev needed SIGTERM/SIGKILL to stop:\n{server.log_tail()}"
    assert process.returncode == 0
    assert not server.group_alive(process.pid)  # webserver, daemon and code servers are gone
    with pytest.raises(requests.ConnectionError):  # nothing listens any more
        server.graphql("{ version }")

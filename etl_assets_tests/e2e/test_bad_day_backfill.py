"""A bad day fails alone through the daemon: `etl-assets backfill --wait` (what `make
backfill` runs, the UI's request) over a range with one unreadable landing file ends with
that day failed, named, and the other days' gold present, through the `failed_range_days`
sensor's follow-up runs. Its own `dagster dev`, on its own data."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.e2e.conftest import artifacts_dir
from etl_assets_tests.e2e.dagster_dev import REPO, DagsterDev
from etl_assets_tests.e2e.test_dagster_dev import DAILY_ASSETS

pytestmark = pytest.mark.e2e

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]
BAD_DAY = "2024-01-02"


@pytest.fixture(scope="module")
def bad_day_server(tmp_path_factory, sample_of):
    root = tmp_path_factory.mktemp("bad-day")
    data = copy_landing(sample_of(days=3, rows_per_day=200, seed=13), root / "data")
    (data / "landing" / "orders" / f"orders_{BAD_DAY}.csv").write_text("no,orders\n1,2\n")
    dev = DagsterDev(home=root / "home", data_dir=data, log_path=root / "dagster-dev.log")
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()
        shutil.copy(dev.log_path, artifacts_dir() / "dagster-dev-bad-day.log")


def test_a_backfill_with_an_unreadable_day_lands_the_other_days(bad_day_server):
    backfill = subprocess.run(
        [
            sys.executable,
            "-m",
            "etl_assets.cli",
            "backfill",
            "--url",
            bad_day_server.url,
            "--from",
            DAYS[0],
            "--to",
            DAYS[-1],
            "--assets",
            *DAILY_ASSETS,
            "--wait",
            "--timeout",
            "500",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    out = backfill.stdout
    assert "Traceback" not in backfill.stderr, backfill.stderr
    assert backfill.returncode == 1, out + backfill.stderr + bad_day_server.log_tail()
    failed = [line.strip() for line in out.splitlines() if line.strip().startswith("FAILED")]
    assert len(failed) == 1, out + backfill.stderr
    assert failed[0].startswith(f"FAILED bronze/orders {BAD_DAY}: orders/orders_{BAD_DAY}.csv: ")
    assert f"failed: {BAD_DAY}; 2 follow-up run(s)" in out, out
    follow_ups = [line for line in out.splitlines() if "(follow-up," in line]
    assert len(follow_ups) == 2 and all("SUCCESS" in line for line in follow_ups), out

    gold = bad_day_server.data_dir / "lake" / "gold" / "daily_sales"
    for day in DAYS:
        assert (gold / f"{day}.parquet").exists() == (day != BAD_DAY), (day, out)

"""One `dagster dev` for the end-to-end tests, on sample data in a temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.e2e.dagster_dev import DagsterDev

FIRST_DAYS = 2  # landed before the server starts
ROWS_PER_DAY = 300
SEED = 11
START = "2024-01-01"
NEW_DAY = "2024-01-03"  # dropped while the landing sensor is on


def artifacts_dir() -> Path:
    """Where tests leave what a person may want to look at (screenshots, the server log)."""
    path = Path(os.environ.get("ETL_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="package")
def e2e_root(tmp_path_factory, sample_of) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    first = sample_of(start=START, days=FIRST_DAYS, rows_per_day=ROWS_PER_DAY, seed=SEED)
    copy_landing(first, root / "data")
    # A longer sample, same seed: its first days are byte-identical; its last is the new day.
    later = sample_of(start=START, days=FIRST_DAYS + 1, rows_per_day=ROWS_PER_DAY, seed=SEED)
    copy_landing(later, root / "later")
    return root


@pytest.fixture(scope="package")
def server(e2e_root):
    dev = DagsterDev(
        home=e2e_root / "home",
        data_dir=e2e_root / "data",
        log_path=e2e_root / "dagster-dev.log",
        ETL_LANDING_SENSOR_INTERVAL_SECONDS="2",
    )
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()  # also when a test failed; a no-op when the shutdown test ran
        shutil.copy(dev.log_path, artifacts_dir() / "dagster-dev.log")


def land_new_day(e2e_root: Path) -> None:
    for name in ("orders", "customers"):
        source = e2e_root / "later" / "landing" / name / f"{name}_{NEW_DAY}.csv"
        staged = e2e_root / "data" / "landing" / name / f".{source.name}.part"
        shutil.copy(source, staged)  # written under a temporary name, then moved into place
        staged.rename(staged.with_name(source.name))

"""The whole-history marts' step: what a mart materialized alone says when what it reads was
never materialized, and that it folds what is there."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pandas as pd
import pytest

from etl_assets.assets import gold as gold_assets
from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.runner import run_pipeline
from etl_assets.transforms.gold.customers import customer_rfm
from etl_assets_tests.conftest import copy_landing


@pytest.mark.parametrize(
    ("mart", "missing"),
    [
        # folds gold/customer_daily only: silver/products, which it does not read, is no matter
        ("customer_rfm", "gold/customer_rfm need gold/customer_daily"),
        ("product_performance", "gold/product_performance needs silver/products"),
    ],
)
def test_a_mart_alone_on_an_empty_lake_says_what_to_materialize(
    sample_of, defs_for, instance, tmp_path, mart, missing
):
    data = copy_landing(sample_of(days=3, rows_per_day=60, seed=5), tmp_path / "data")
    defs, _ = defs_for(data)
    job = defs.resolve_job_def(MEDALLION_JOB)
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["gold", mart])], raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert missing in message
    assert "materialize" in message.split(missing)[1]


def test_the_mart_folds_every_materialized_day(sample_of, defs_for, instance, tmp_path):
    """Materialized from the lake's aggregate days, a day at a time, the mart equals the
    function over every silver line (the definition)."""
    data = copy_landing(sample_of(days=3, rows_per_day=60, seed=5), tmp_path / "data")
    defs, settings = defs_for(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gold_assets, "AGGREGATE_GROUP_ROWS", 1)  # each day a group of its own
        summary = run_pipeline(defs, settings, instance, log_level="ERROR")
    assert summary.success, summary.table()
    silver = sorted((data / "lake" / "silver" / "orders").glob("*.parquet"))
    assert len(silver) >= 3, "the sample's days and the day before the first"
    orders = pd.concat([pd.read_parquet(f) for f in silver], ignore_index=True)
    mart = pd.read_parquet(data / "lake" / "gold" / "customer_rfm.parquet")
    pd.testing.assert_frame_equal(mart, customer_rfm(orders), check_exact=True)
    metadata = _mart_metadata(instance, "customer_rfm")
    assert metadata["days_combined"].value == len(silver)
    assert metadata["days_missing"].value == 0

    # a day without its aggregate (a failed day is not built) is named, not silently absent
    aggregates = sorted((data / "lake" / "gold" / "customer_daily").glob("*.parquet"))
    aggregates[1].unlink()
    job = defs.resolve_job_def(MEDALLION_JOB)
    rfm = dg.AssetKey(["gold", "customer_rfm"])
    assert job.execute_in_process(instance=instance, asset_selection=[rfm]).success
    metadata = _mart_metadata(instance, "customer_rfm")
    assert metadata["days_combined"].value == len(silver) - 1
    assert metadata["days_missing"].value == 1
    assert metadata["missing_days"].value == aggregates[1].stem


def _mart_metadata(instance, mart: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(["gold", mart]))
    return event.asset_materialization.metadata


def test_loading_the_code_location_does_not_import_duckdb():
    """DuckDB counts the distinct invoices when the step runs, not when the location loads."""
    code = "import sys, etl_assets.definitions; print('duckdb' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

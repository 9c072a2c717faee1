"""The whole-history marts' checkpoints under faults: damaged, made by other code, or made
from days since removed, a checkpoint is discarded and the marts are still exact; a save that
fails mid-write leaves the previous one (io/lake/test_checkpoints.py)."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.runner import run_pipeline
from etl_assets.transforms.gold.customers import customer_rfm
from etl_assets_tests.conftest import copy_landing


def _mart_metadata(instance, mart: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(["gold", mart]))
    return event.asset_materialization.metadata


def test_a_checkpoint_that_no_longer_holds_the_days_is_not_used(
    sample_of, defs_for, instance, tmp_path
):
    """The fold resumes from its checkpoint of the days before the latest day's month only
    while a rebuild would read the same: damaged, made by other code, or made from days since
    removed, it is discarded (the metadata says why) and the mart is still the definition."""
    data = copy_landing(sample_of(days=4, rows_per_day=60, seed=5, start="2024-01-30"), tmp_path)
    defs, settings = defs_for(data)
    summary = run_pipeline(defs, settings, instance, log_level="ERROR")
    assert summary.success, summary.table()
    assert (
        _mart_metadata(instance, "customer_rfm")["checkpoint_saved_through"].value == "2024-01-31"
    )
    job = defs.resolve_job_def(MEDALLION_JOB)
    rfm = dg.AssetKey(["gold", "customer_rfm"])
    directory = data / "lake" / ".checkpoints" / "gold" / "customer_rfm"

    def materialize_rfm() -> dict:
        assert job.execute_in_process(instance=instance, asset_selection=[rfm]).success
        lines = sorted((data / "lake" / "silver" / "orders").glob("*.parquet"))
        orders = pd.concat([pd.read_parquet(f) for f in lines], ignore_index=True)
        mart = pd.read_parquet(data / "lake" / "gold" / "customer_rfm.parquet")
        if not (data / "lake" / "gold" / "customer_daily" / "2024-01-30.parquet").exists():
            orders = orders[orders["order_date"] != pd.Timestamp("2024-01-30")]
        pd.testing.assert_frame_equal(mart, customer_rfm(orders.reset_index(drop=True)))
        return {k: v.value for k, v in _mart_metadata(instance, "customer_rfm").items()}

    resumed = materialize_rfm()
    assert resumed["checkpoint_resumed_through"] == "2024-01-31"
    assert resumed["days_folded"] == 2  # February's days

    def edit_manifest(change) -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        change(manifest)
        (directory / "manifest.json").write_text(json.dumps(manifest))

    def damage_a_table(manifest: dict) -> None:
        (directory / manifest["tables"]["totals"]["file"]).write_bytes(b"not parquet")

    damages = [
        (damage_a_table, "unreadable"),
        (lambda m: m["tables"].pop("invoices"), "unreadable"),  # a table the fold needs
        (lambda m: m["facts"].update(code_version="older"), "code version changed"),
        (lambda m: (data / "lake" / "gold" / "customer_daily" / "2024-01-30.parquet").unlink(),
         "the days of gold/customer_daily up to 2024-01-31 changed"),
    ]  # fmt: skip
    for damage, reason in damages:
        edit_manifest(damage)
        discarded = materialize_rfm()
        assert reason in discarded["checkpoint_discarded"]
        assert discarded["checkpoint_resumed_through"] == ""
        assert discarded["days_folded"] == discarded["days_combined"]  # every day again
        assert discarded["checkpoint_saved_through"] == "2024-01-31"  # and a new one saved

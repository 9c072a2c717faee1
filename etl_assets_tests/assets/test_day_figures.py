"""In a range run every partition's materialization carries its own figures (row count,
bytes, rows rejected, duplicates removed, reasons, a preview of rejected rows), and each
day's checks their own quality score: read back from the instance after a three-day run."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pytest

from etl_assets.runner import run_pipeline

pytestmark = pytest.mark.usefixtures("fresh_breakers")


def _by_partition(instance, key: str) -> dict[str, dict]:
    records = instance.fetch_materializations(dg.AssetKey(key.split("/")), limit=100).records
    latest: dict[str, dict] = {}
    for record in records:  # newest first
        latest.setdefault(record.partition_key, record.asset_materialization.metadata)
    return latest


def test_each_partition_carries_its_own_figures(data_dir, defs_for, instance):
    defs, settings = defs_for(data_dir)
    summary = run_pipeline(defs, settings, instance)
    assert summary.success and summary.days == 3
    lake = data_dir / "lake"
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]

    for key in ("bronze/orders", "silver/orders", "silver/orders_quarantine", "gold/daily_sales"):
        events = _by_partition(instance, key)
        assert sorted(events) == days, key
        for day in days:
            path = lake.joinpath(*key.split("/"), f"{day}.parquet")
            assert events[day]["dagster/row_count"].value == len(pd.read_parquet(path)), key
            assert events[day]["bytes"].value == path.stat().st_size, key

    silver = _by_partition(instance, "silver/orders")
    quarantine = _by_partition(instance, "silver/orders_quarantine")
    kept = [silver[day]["dagster/row_count"].value for day in days]
    rejected = [silver[day]["rows_rejected"].value for day in days]
    assert len(set(kept)) == 3  # the days differ (late rows), so do their figures
    # the run's summary adds up the days' own figures
    assert summary.layers["silver"].rejected == sum(rejected)
    for day in days:
        rows = pd.read_parquet(lake / "silver" / "orders_quarantine" / f"{day}.parquet")
        reasons = rows["_reject_reason"].value_counts().to_dict()
        assert silver[day]["rows_rejected"].value == len(rows)
        assert silver[day]["reject_reasons"].value == reasons
        assert quarantine[day]["reject_reasons"].value == reasons
        for reason, count in reasons.items():
            assert quarantine[day][f"rejected_{reason}"].value == count
        bronze_rows = silver[day]["rows_in"].value
        assert bronze_rows == (
            silver[day]["dagster/row_count"].value
            + len(rows)
            + silver[day]["duplicates_removed"].value
        )
        preview = quarantine[day]["rejected_rows_preview"].value
        assert 0 < len(preview.records) <= 5
        shown = [record.data["_reject_reason"] for record in preview.records]
        assert set(shown) <= set(reasons)
        # one row of each reason first (up to five)
        assert len(set(shown)) == min(len(reasons), len(shown))
        assert {"InvoiceNo", "Quantity", "_reject_detail"} <= set(preview.records[0].data)

    scores = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(["silver", "orders"]), "error_expectations"), limit=10
    ):
        evaluation = record.event.dagster_event.event_specific_data
        scores[evaluation.partition] = evaluation.metadata["quality_score"].value
    assert sorted(scores) == days


def test_quarantine_preview_masks_pii(tmp_path):
    from etl_assets.assets.day_figures import quarantine_figures
    from etl_assets.sources import load_sources

    spec = load_sources(None)["customers"]
    rejected = pd.DataFrame(
        {
            "CustomerID": ["x1", "", "12"],
            "Email": ["jane.doe@example.com", "bob@example.com", "ann@example.com"],
            "Country": ["France", "Spain", "Spain"],
            "_row_number": [3, 9, 12],
            "_reject_reason": ["unparseable_customer_id", "missing_customer_id", "missing_x"],
            "_reject_detail": ["CustomerID='x1'", "CustomerID is empty", "x"],
        }
    )
    figures = quarantine_figures(spec, rejected, ["below_minimum_customer_id"])
    records = figures["rejected_rows_preview"].value.records
    assert [r.data["Email"] for r in records] == ["j***m", "b***m", "a***m"]
    assert figures["rejected_below_minimum_customer_id"] == 0
    assert json.loads(json.dumps(figures["reject_reasons"].value))["missing_x"] == 1

"""The whole medallion, materialized through Dagster on sample data, checked against the
sample manifest: every bronze row is accounted for exactly, per partition."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from etl_assets.runner import landed_days, run_pipeline

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]


def lake_file(data_dir: Path, *parts: str) -> Path:
    return data_dir.joinpath("lake", *parts)


def read_partition(data_dir: Path, layer: str, name: str, day: str) -> pd.DataFrame:
    return pd.read_parquet(lake_file(data_dir, layer, name, f"{day}.parquet"))


def expected_per_day(manifest: dict) -> dict[str, dict[str, int]]:
    """What each silver partition must hold, from the true dirt counts of each file."""
    orders = manifest["orders"]
    days = sorted(orders)
    expected = {}
    for i, day in enumerate(days):
        counts = orders[day]
        late_in = orders[days[i + 1]]["late_rows"] if i + 1 < len(days) else 0
        assigned = counts["lines"] - counts["late_rows"] + late_in
        expected[day] = {
            "bronze_assigned": assigned,
            "quarantined": counts["rejected"],
            "duplicates": counts["duplicates"],
            "silver": assigned - counts["rejected"] - counts["duplicates"],
        }
    return expected


@pytest.fixture
def materialized(data_dir, defs_for, instance):
    defs, settings = defs_for(data_dir)
    summary = run_pipeline(defs, settings, instance)
    return data_dir, summary, instance


def test_landed_days_found(data_dir, defs_for):
    _, settings = defs_for(data_dir)
    assert landed_days(settings) == DAYS


def test_every_layer_materializes_and_accounts_exactly(materialized):
    data_dir, summary, _ = materialized
    assert summary.success, summary.table()
    assert summary.failed_checks == []
    manifest = json.loads((data_dir / "landing" / "manifest.json").read_text())
    for day, expected in expected_per_day(manifest).items():
        bronze = read_partition(data_dir, "bronze", "orders", day)
        silver = read_partition(data_dir, "silver", "orders", day)
        quarantine = read_partition(data_dir, "silver", "orders_quarantine", day)
        assert len(bronze) == manifest["orders"][day]["lines"], day
        assert len(silver) == expected["silver"], day
        assert len(quarantine) == expected["quarantined"], day
        assert (silver["order_date"] == pd.Timestamp(day)).all()
        assert (quarantine["order_date"] == pd.Timestamp(day)).all()
        # The latin-1 lines are quarantined as such, never decoded into silver.
        reasons = quarantine["_reject_reason"].value_counts().to_dict()
        assert reasons.get("invalid_encoding", 0) == manifest["orders"][day]["latin1"]
        assert (
            reasons.get("below_minimum_unit_price", 0) == manifest["orders"][day]["negative_price"]
        )


def test_late_rows_join_the_day_of_their_invoice(materialized):
    data_dir, _, _ = materialized
    manifest = json.loads((data_dir / "landing" / "manifest.json").read_text())
    silver = read_partition(data_dir, "silver", "orders", DAYS[0])
    from_next_file = silver["_source_file"].str.contains(DAYS[1])
    assert from_next_file.sum() == manifest["orders"][DAYS[1]]["late_rows"] > 0


def test_gold_reconciles_with_silver(materialized):
    data_dir, _, _ = materialized
    for day in DAYS:
        silver = read_partition(data_dir, "silver", "orders", day)
        gold = read_partition(data_dir, "gold", "daily_sales", day)
        products = silver[~silver["is_non_product"].astype(bool)]
        assert gold["net_revenue"].sum() == pytest.approx(products["line_value"].sum(), abs=0.05)
    for mart in ("customer_rfm", "product_performance", "cohort_retention"):
        frame = pd.read_parquet(lake_file(data_dir, "gold", f"{mart}.parquet"))
        assert len(frame) > 0, mart
    rfm = pd.read_parquet(lake_file(data_dir, "gold", "customer_rfm.parquet"))
    assert rfm[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()


def test_customers_history_hides_emails(materialized):
    data_dir, _, _ = materialized
    history = pd.read_parquet(lake_file(data_dir, "silver", "customers.parquet"))
    assert {"valid_from", "valid_to", "is_current", "email_hash"} <= set(history.columns)
    assert not history["email_hash"].astype(str).str.contains("@").any()
    current = history[history["is_current"].astype(bool)]
    assert current["customer_id"].is_unique
    assert (history["valid_to"].isna() == history["is_current"].astype(bool)).all()


def test_materializations_record_operator_metadata(materialized):
    _, _, instance = materialized
    import dagster as dg

    record = instance.get_latest_materialization_event(dg.AssetKey(["silver", "orders"]))
    metadata = record.asset_materialization.metadata
    for key in (
        "dagster/row_count",
        "dagster/column_schema",
        "dagster/column_lineage",
        "rows_rejected",
        "duplicates_removed",
        "bytes",
        "seconds",
    ):
        assert key in metadata, key


def test_every_column_schema_describes_every_column(materialized):
    """bronze (declared and lineage columns), silver, quarantine and gold: no column
    without a description in the materializations of a sample run."""
    _, summary, instance = materialized
    assert summary.success, summary.table()
    checked = []
    for key in instance.get_asset_keys():
        record = instance.get_latest_materialization_event(key)
        if record is None or key.path[0] not in ("bronze", "silver", "gold"):
            continue
        checked.append(key.to_user_string())
        schema = record.asset_materialization.metadata["dagster/column_schema"].value
        undescribed = [column.name for column in schema.columns if not column.description]
        assert undescribed == [], key.to_user_string()
    # bronze, silver and quarantines, the four marts and their two daily aggregates
    assert len(checked) == 3 + 2 * 3 + 4 + 2, checked


def test_rerun_gives_identical_parquet(materialized, defs_for, instance):
    data_dir, _, _ = materialized
    paths = [
        lake_file(data_dir, "silver", "orders", f"{DAYS[1]}.parquet"),
        lake_file(data_dir, "silver", "orders_quarantine", f"{DAYS[1]}.parquet"),
        lake_file(data_dir, "gold", "daily_sales", f"{DAYS[1]}.parquet"),
        lake_file(data_dir, "gold", "customer_rfm.parquet"),
    ]
    before = [p.read_bytes() for p in paths]
    defs, settings = defs_for(data_dir)
    summary = run_pipeline(defs, settings, instance, days=[DAYS[1]])
    assert summary.success
    assert [p.read_bytes() for p in paths] == before

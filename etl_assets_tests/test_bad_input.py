"""Bad landing input gets a clear failure or a quarantine row, never a silent loss."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from etl_assets.automation.jobs import MEDALLION_JOB

BRONZE_ORDERS = dg.AssetKey(["bronze", "orders"])
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def materialize_bronze(defs: dg.Definitions, instance, day: str):
    job = defs.resolve_job_def(MEDALLION_JOB)
    return job.execute_in_process(
        instance=instance, partition_key=day, asset_selection=[BRONZE_ORDERS], raise_on_error=False
    )


def failure_text(result) -> str:
    return "\n".join(
        str(event.step_failure_data.error) for event in result.get_step_failure_events()
    )


def orders_file(data_dir, day: str):
    return data_dir / "landing" / "orders" / f"orders_{day}.csv"


def test_missing_landing_file_names_expected_path(data_dir, defs_for, instance):
    defs, _ = defs_for(data_dir)
    result = materialize_bronze(defs, instance, "2024-02-01")
    assert not result.success
    text = failure_text(result)
    assert str(orders_file(data_dir, "2024-02-01")) in text or "orders_2024-02-01.csv" in text


def test_missing_required_column_is_named(data_dir, defs_for, instance):
    path = orders_file(data_dir, "2024-01-02")
    path.write_text(
        "InvoiceNo,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,MUG,6,1/2/2024 8:26,2.55,17850,United Kingdom\n"
    )
    defs, _ = defs_for(data_dir)
    result = materialize_bronze(defs, instance, "2024-01-02")
    assert not result.success
    assert "StockCode" in failure_text(result)


def test_unknown_header_column_is_kept_and_named(data_dir, defs_for, instance):
    # Kept in bronze (nothing dropped) and named by the landing_columns warning check.
    path = orders_file(data_dir, "2024-01-02")
    path.write_text(
        HEADER.strip() + ",Discount\n"
        "536365,85123A,MUG,6,1/2/2024 8:26,2.55,17850,United Kingdom,0.1\n"
    )
    defs, _ = defs_for(data_dir)
    result = materialize_bronze(defs, instance, "2024-01-02")
    assert result.success, failure_text(result)
    bronze = pd.read_parquet(data_dir / "lake" / "bronze" / "orders" / "2024-01-02.parquet")
    assert bronze["Discount"].tolist() == ["0.1"]
    [landing] = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "landing_columns"
    ]
    assert not landing.passed and "Discount" in landing.description


def test_empty_file_gives_zero_rows_and_a_warning(data_dir, defs_for, instance):
    orders_file(data_dir, "2024-01-02").write_text(HEADER)
    defs, _ = defs_for(data_dir)
    result = materialize_bronze(defs, instance, "2024-01-02")
    assert result.success
    frame = pd.read_parquet(data_dir / "lake" / "bronze" / "orders" / "2024-01-02.parquet")
    assert len(frame) == 0 and "InvoiceNo" in frame.columns
    event = instance.get_latest_materialization_event(BRONZE_ORDERS)
    assert "empty landing file" in event.asset_materialization.metadata["warning"].value


def test_undecodable_and_unparseable_rows_are_quarantined(data_dir, defs_for, instance):
    # a UTF-8 file (its good line holds an accent) with one line saved as latin-1
    good = "536365,85123A,CRÈME MUG,6,1/2/2024 8:26,2.55,17850,United Kingdom\n"
    body = (
        (HEADER + good).encode()
        + "536366,22752,CAF\xc9,1,1/2/2024 9:00,1.00,,France\n".encode("latin-1")
        + b"536367,22753,PLATE,twelve,1/2/2024 9:30,1.00,,France\n"
    )
    orders_file(data_dir, "2024-01-02").write_bytes(body)
    orders_file(data_dir, "2024-01-03").write_text(HEADER)
    defs, _ = defs_for(data_dir)
    job = defs.resolve_job_def(MEDALLION_JOB)
    result = job.execute_in_process(
        instance=instance,
        partition_key="2024-01-02",
        asset_selection=[
            BRONZE_ORDERS,
            dg.AssetKey(["silver", "orders"]),
            dg.AssetKey(["silver", "orders_quarantine"]),
        ],
        raise_on_error=False,
    )
    # Two of three rows rejected: over the 5 % gate, which fails the day once it is written.
    gate = [e for e in result.get_asset_check_evaluations() if e.check_name == "reject_rate"]
    assert [e.passed for e in gate] == [False], failure_text(result)
    assert "66.7 % of 3 rows rejected" in gate[0].description
    lake = data_dir / "lake" / "silver"
    silver = pd.read_parquet(lake / "orders" / "2024-01-02.parquet")
    quarantine = pd.read_parquet(lake / "orders_quarantine" / "2024-01-02.parquet")
    assert silver["invoice_no"].tolist() == ["536365"]
    assert sorted(quarantine["_reject_reason"]) == ["invalid_encoding", "unparseable_quantity"]
    assert "CAFÉ" in quarantine["Description"].tolist()  # the original bytes, recoverable

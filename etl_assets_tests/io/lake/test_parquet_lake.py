"""The Parquet lake IO manager, exercised through real in-process Dagster runs."""

import uuid
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.io.lake import ParquetLakeIOManager, lake_path, split, writing
from etl_assets_tests.conftest import range_tags

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")
DAILY_JANUARY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
SINGLE_RUN = dg.BackfillPolicy.single_run()
ORDERS_METADATA = {"partition_expr": "order_date"}


# ----------------------------------------------------------------------------- helpers


def orders_for(*days: str, rows_per_day: int = 2) -> pd.DataFrame:
    """A small orders frame: `rows_per_day` rows for each day, in day order."""
    rows = [(pd.Timestamp(day), number) for day in days for number in range(rows_per_day)]
    return pd.DataFrame(
        {
            "invoice_no": pd.array([f"{d:%m%d}-{n}" for d, n in rows], dtype="string[pyarrow]"),
            "quantity": pd.array([n + 1 for _, n in rows], dtype="Int64"),
            "order_date": pd.Series([d for d, _ in rows], dtype="datetime64[ns]"),
        }
    )


def run(assets, lake: Path, instance, *, partition_key=None, key_range=None, selection=None):
    tags = range_tags(*key_range) if key_range else None
    return dg.materialize(
        assets,
        resources={"io_manager": ParquetLakeIOManager(base_path=str(lake))},
        instance=instance,
        partition_key=partition_key,
        tags=tags,
        selection=selection,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success, "the run was expected to fail"
    failures = [event for event in result.all_events if event.is_step_failure]
    return "\n".join(event.step_failure_data.error.to_string() for event in failures)


def orders_asset(frame_for_run, **kwargs) -> dg.AssetsDefinition:
    """bronze/orders, daily, whose output is `frame_for_run(context)`."""

    @dg.asset(
        key_prefix="bronze",
        name=kwargs.pop("name", "orders"),
        partitions_def=kwargs.pop("partitions_def", DAILY),
        backfill_policy=SINGLE_RUN,
        metadata=kwargs.pop("metadata", ORDERS_METADATA),
        **kwargs,
    )
    def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frame_for_run(context)

    return orders


def orders_of_run(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return orders_for(*context.partition_keys)


def orders_file(lake: Path, day: str) -> Path:
    return lake / "bronze" / "orders" / f"{day}.parquet"


def materialize_orders(lake: Path, instance, *days: str) -> None:
    for day in days:
        assert run([orders_asset(orders_of_run)], lake, instance, partition_key=day).success


# -------------------------------------------------------------------------------- paths


def test_lake_path_layout():
    assert str(lake_path("/data/lake", ["gold", "customer_rfm"])) == (
        "/data/lake/gold/customer_rfm.parquet"
    )
    assert str(lake_path("/data/lake", dg.AssetKey(["bronze", "orders"]), "2024-01-05")) == (
        "/data/lake/bronze/orders/2024-01-05.parquet"
    )
    assert str(lake_path("/data/lake", "bronze/orders", "2024-01-05")) == (
        "/data/lake/bronze/orders/2024-01-05.parquet"
    )
    # A partition key cannot climb out of the asset's directory.
    assert lake_path("/data/lake", "x", "../y").parent == lake_path("/data/lake", "x", "a").parent


# ------------------------------------------------------------------------------ writing


def test_split_keeps_row_order_within_each_partition_whatever_the_input_order():
    table = pa.table({"row": [0, 1, 2, 3, 4, 5]})
    positions = np.array([2, 0, 2, 1, 0, 2])

    pieces = split.split_by_position(table, positions, 4)

    assert [piece["row"].to_pylist() for piece in pieces] == [[1, 4], [3], [0, 2, 5], []]
    assert all(piece.schema == table.schema for piece in pieces)


def test_rows_outside_every_window_or_null_get_no_partition():
    windows = [DAILY.time_window_for_partition_key(day) for day in ["2024-01-01", "2024-01-02"]]
    stamps = pd.DatetimeIndex(
        ["2023-12-31 23:59", "2024-01-01 23:59", "2024-01-02 00:00", "2024-01-03 00:00", None],
        tz="UTC",
    )

    assert split.partition_positions(stamps, windows).tolist() == [-1, 0, 1, -1, -1]


def test_single_partition_is_written_and_read_back(lake, instance):
    received = {}

    @dg.asset(
        key_prefix="silver",
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        ins={"orders": dg.AssetIn(["bronze", "orders"])},
    )
    def orders_copy(orders: pd.DataFrame) -> None:
        received["orders"] = orders

    result = run(
        [orders_asset(orders_of_run), orders_copy], lake, instance, partition_key="2024-01-03"
    )

    assert result.success
    assert orders_file(lake, "2024-01-03").exists()
    assert sorted(p.name for p in (lake / "bronze" / "orders").iterdir()) == ["2024-01-03.parquet"]
    pd.testing.assert_frame_equal(received["orders"], orders_for("2024-01-03"))


def test_single_run_backfill_writes_one_file_per_day(lake, instance):
    days = ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05"]  # nothing on 2024-01-03

    result = run(
        [orders_asset(lambda context: orders_for(*days))],
        lake,
        instance,
        key_range=("2024-01-01", "2024-01-05"),
    )

    assert result.success
    for day in days:
        pd.testing.assert_frame_equal(pd.read_parquet(orders_file(lake, day)), orders_for(day))
    empty_day = pq.read_table(orders_file(lake, "2024-01-03"))
    assert empty_day.num_rows == 0
    assert empty_day.schema.equals(pq.read_schema(orders_file(lake, "2024-01-01")))

    materializations = result.get_asset_materialization_events()
    assert sorted(event.partition for event in materializations) == sorted([*days, "2024-01-03"])
    metadata = materializations[0].materialization.metadata
    assert metadata["files"].value == 5
    assert metadata["rows_per_partition"].value["2024-01-03"] == 0
    # each partition's event carries its own rows and bytes, not the range's
    rows = {
        e.partition: e.materialization.metadata["dagster/row_count"].value for e in materializations
    }
    assert rows["2024-01-03"] == 0 and sum(rows.values()) == 8
    for event in materializations:
        size = orders_file(lake, event.partition).stat().st_size
        assert event.materialization.metadata["bytes"].value == size


def test_backfill_replaces_every_day_of_the_range(lake, instance):
    materialize_orders(lake, instance, "2024-01-02")
    assert pq.read_table(orders_file(lake, "2024-01-02")).num_rows == 2

    # The day has no rows any more: re-running the range must empty it, not keep stale rows.
    result = run(
        [orders_asset(lambda context: orders_for("2024-01-01"))],
        lake,
        instance,
        key_range=("2024-01-01", "2024-01-02"),
    )

    assert result.success
    assert pq.read_table(orders_file(lake, "2024-01-02")).num_rows == 0


def test_rows_outside_the_backfill_range_fail_and_write_nothing(lake, instance):
    result = run(
        [orders_asset(lambda context: orders_for("2024-01-01", "2024-01-09"))],
        lake,
        instance,
        key_range=("2024-01-01", "2024-01-03"),
    )

    text = failure_text(result)
    assert "bronze/orders" in text
    assert "'order_date'" in text
    assert "2024-01-09" in text
    assert "2024-01-01..2024-01-03" in text
    assert not (lake / "bronze" / "orders").exists() or not any(
        (lake / "bronze" / "orders").iterdir()
    )


def test_backfill_without_partition_expr_fails_with_advice(lake, instance):
    result = run(
        [orders_asset(orders_of_run, metadata={})],
        lake,
        instance,
        key_range=("2024-01-01", "2024-01-02"),
    )

    text = failure_text(result)
    assert "partition_expr" in text
    assert "bronze/orders" in text


def test_output_metadata_is_on_the_materialization(lake, instance):
    result = run([orders_asset(orders_of_run)], lake, instance, partition_key="2024-01-02")

    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["bytes"].value == orders_file(lake, "2024-01-02").stat().st_size
    assert metadata["files"].value == 1
    assert metadata["path"].value == str(orders_file(lake, "2024-01-02"))
    assert metadata["write_seconds"].value >= 0
    assert "dagster/column_schema" not in metadata


def test_rewriting_a_partition_gives_identical_bytes(lake, instance):
    materialize_orders(lake, instance, "2024-01-02")
    first = orders_file(lake, "2024-01-02").read_bytes()
    materialize_orders(lake, instance, "2024-01-02")

    assert orders_file(lake, "2024-01-02").read_bytes() == first


def write_half_then_crash(table, sink):
    full = pa.BufferOutputStream()
    pq.write_table(table, full)
    data = full.getvalue().to_pybytes()
    sink.write(data[: len(data) // 2])
    raise OSError("disk full (simulated)")


def test_a_crash_while_writing_keeps_the_old_file(lake, instance, monkeypatch):
    materialize_orders(lake, instance, "2024-01-02")
    old_bytes = orders_file(lake, "2024-01-02").read_bytes()

    monkeypatch.setattr(writing, "write_parquet", write_half_then_crash)
    result = run(
        [orders_asset(lambda context: orders_for("2024-01-02", rows_per_day=50))],
        lake,
        instance,
        partition_key="2024-01-02",
    )

    assert "disk full" in failure_text(result)
    assert orders_file(lake, "2024-01-02").read_bytes() == old_bytes
    assert [p.name for p in (lake / "bronze" / "orders").iterdir()] == ["2024-01-02.parquet"]


def test_a_crash_midway_through_a_backfill_replaces_no_day(lake, instance, monkeypatch):
    materialize_orders(lake, instance, "2024-01-01", "2024-01-02")
    old = {day: orders_file(lake, day).read_bytes() for day in ["2024-01-01", "2024-01-02"]}
    calls = []
    real_writer = writing.write_parquet

    def crash_on_third_file(table, sink):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("killed (simulated)")
        real_writer(table, sink)

    monkeypatch.setattr(writing, "write_parquet", crash_on_third_file)
    result = run(
        [orders_asset(lambda context: orders_for("2024-01-01", "2024-01-02", "2024-01-03"))],
        lake,
        instance,
        key_range=("2024-01-01", "2024-01-03"),
    )

    assert "killed" in failure_text(result)
    assert {day: orders_file(lake, day).read_bytes() for day in old} == old
    assert sorted(p.name for p in (lake / "bronze" / "orders").iterdir()) == [
        "2024-01-01.parquet",
        "2024-01-02.parquet",
    ]


def test_a_non_dataframe_output_fails_clearly(lake, instance):
    @dg.asset
    def not_a_frame():
        return {"a": 1}

    text = failure_text(run([not_a_frame], lake, instance))
    assert "not_a_frame returned dict" in text


def test_fsspec_urls_work_beyond_the_local_disk(instance):
    lake_url = f"memory://lake-{uuid.uuid4().hex}"
    received = {}

    @dg.asset(
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        ins={"orders": dg.AssetIn(["bronze", "orders"])},
    )
    def orders_copy(orders: pd.DataFrame) -> None:
        received["orders"] = orders

    result = dg.materialize(
        [orders_asset(orders_of_run), orders_copy],
        resources={"io_manager": ParquetLakeIOManager(base_path=lake_url)},
        instance=instance,
        partition_key="2024-01-04",
    )

    assert result.success
    written = lake_path(lake_url, "bronze/orders", "2024-01-04")
    assert [p.name for p in written.parent.iterdir()] == ["2024-01-04.parquet"]
    pd.testing.assert_frame_equal(received["orders"], orders_for("2024-01-04"))


# ------------------------------------------------------------------------------ reading


def late_rows_reader(received: dict, allow_missing: bool) -> dg.AssetsDefinition:
    """silver/orders-like: partition D reads bronze D..D+1 (late rows arrive a day later)."""
    metadata = {"allow_missing_partitions": True} if allow_missing else None

    @dg.asset(
        key_prefix="silver",
        partitions_def=DAILY,
        ins={
            "orders": dg.AssetIn(
                ["bronze", "orders"],
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=0, end_offset=1, allow_nonexistent_upstream_partitions=True
                ),
                metadata=metadata,
            )
        },
    )
    def orders(orders: pd.DataFrame) -> None:
        received["orders"] = orders

    return orders


def test_allow_missing_partitions_reads_what_exists_and_lists_the_rest(lake, instance):
    bronze = orders_asset(orders_of_run)
    materialize_orders(lake, instance, "2024-01-02", "2024-01-03")
    received = {}
    silver = late_rows_reader(received, allow_missing=True)

    result = run([bronze, silver], lake, instance, partition_key="2024-01-03", selection=[silver])

    assert result.success
    pd.testing.assert_frame_equal(received["orders"], orders_for("2024-01-03"))
    assert received["orders"].attrs["missing_partitions"] == ["2024-01-04"]


def test_missing_partitions_fail_by_default_with_what_to_do(lake, instance):
    bronze = orders_asset(orders_of_run)
    materialize_orders(lake, instance, "2024-01-03")
    silver = late_rows_reader({}, allow_missing=False)

    result = run([bronze, silver], lake, instance, partition_key="2024-01-03", selection=[silver])

    text = failure_text(result)
    assert "bronze/orders is missing 1 partition(s)" in text
    assert "2024-01-04" in text
    assert str(orders_file(lake, "2024-01-04")) in text
    assert "Materialize bronze/orders for these partitions first" in text


def test_no_partition_at_all_under_allow_missing_gives_an_empty_frame(lake, instance):
    received = {}
    silver = late_rows_reader(received, allow_missing=True)

    result = run(
        [orders_asset(orders_of_run), silver],
        lake,
        instance,
        partition_key="2024-01-03",
        selection=[silver],
    )

    assert result.success
    assert received["orders"].empty
    assert received["orders"].attrs["missing_partitions"] == ["2024-01-03", "2024-01-04"]


@pytest.mark.parametrize("allow_missing", [True, False])
def test_an_unpartitioned_asset_never_materialized(lake, instance, allow_missing):
    """With allow_missing_asset it is an empty frame (the reader says what it needs);
    without, the step fails naming the file and what to do."""
    received = {}

    @dg.asset(key=["silver", "catalogue"])
    def catalogue() -> pd.DataFrame:
        return pd.DataFrame({"sku": ["A1"]})

    metadata = {"allow_missing_asset": True} if allow_missing else None

    @dg.asset(ins={"catalogue": dg.AssetIn(["silver", "catalogue"], metadata=metadata)})
    def reader(catalogue: pd.DataFrame) -> None:
        received["catalogue"] = catalogue

    result = run([catalogue, reader], lake, instance, selection=[reader])

    if allow_missing:
        assert result.success
        assert received["catalogue"].empty and not len(received["catalogue"].columns)
    else:
        text = failure_text(result)
        assert "silver/catalogue has not been materialized" in text
        assert "Materialize silver/catalogue first" in text


def test_unpartitioned_downstream_reads_every_existing_partition_in_order(lake, instance):
    bronze = orders_asset(orders_of_run)  # daily since 2024-01-01: hundreds of keys up to today
    result = run([bronze], lake, instance, key_range=("2024-01-05", "2024-01-06"))
    assert result.success
    materialize_orders(lake, instance, "2024-01-02")
    received = {}

    @dg.asset(
        ins={
            "orders": dg.AssetIn(["bronze", "orders"], metadata={"allow_missing_partitions": True})
        }
    )
    def all_orders(orders: pd.DataFrame) -> None:
        received["orders"] = orders

    result = run([bronze, all_orders], lake, instance, selection=[all_orders])

    assert result.success
    expected = orders_for("2024-01-02", "2024-01-05", "2024-01-06")
    pd.testing.assert_frame_equal(received["orders"], expected)
    missing = received["orders"].attrs["missing_partitions"]
    assert len(missing) == len(DAILY.get_partition_keys()) - 3
    assert "2024-01-01" in missing and "2024-01-02" not in missing


def test_unpartitioned_downstream_of_a_complete_asset_needs_no_flag(lake, instance):
    bronze = orders_asset(orders_of_run, partitions_def=DAILY_JANUARY)
    assert run([bronze], lake, instance, key_range=("2024-01-01", "2024-01-31")).success
    received = {}

    @dg.asset(ins={"orders": dg.AssetIn(["bronze", "orders"])})
    def all_orders(orders: pd.DataFrame) -> None:
        received["orders"] = orders

    assert run([bronze, all_orders], lake, instance, selection=[all_orders]).success
    assert len(received["orders"]) == 62
    assert received["orders"]["order_date"].is_monotonic_increasing


def every_dtype() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "python_text": pd.array(["a", None, "c"], dtype="string[python]"),
            "count": pd.array([1, None, 3], dtype="Int64"),
            "amount": pd.array([1.5, None, 3.25], dtype="Float64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "at": pd.Series(
                pd.to_datetime(
                    ["2024-01-02 03:04:05.123456789", None, "2024-01-02"], format="ISO8601"
                ),
                dtype="datetime64[ns]",
            ),
            "at_utc": pd.Series(
                pd.to_datetime(["2024-01-02 03:04:05", None, "2024-01-02 00:00:00"], utc=True),
                dtype="datetime64[ns, UTC]",
            ),
            "plain_int": [1, 2, 3],
            "order_date": pd.Series(pd.to_datetime(["2024-01-02"] * 3), dtype="datetime64[ns]"),
        }
    )


def test_dtypes_round_trip_unpartitioned_and_across_partitions(lake, instance):
    received = {}

    @dg.asset(key_prefix="gold")
    def typed() -> pd.DataFrame:
        return every_dtype()

    # 2024-01-01 gets a zero-row file, 2024-01-02 the rows: the concatenation keeps dtypes.
    two_days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")
    typed_daily = orders_asset(
        lambda context: every_dtype(), name="typed_daily", partitions_def=two_days
    )

    @dg.asset(
        ins={
            "typed": dg.AssetIn(["gold", "typed"]),
            "typed_daily": dg.AssetIn(["bronze", "typed_daily"]),
        }
    )
    def reader(typed: pd.DataFrame, typed_daily: pd.DataFrame) -> None:
        received.update(typed=typed, typed_daily=typed_daily)

    assert run([typed_daily], lake, instance, key_range=("2024-01-01", "2024-01-02")).success
    assert run([typed, typed_daily, reader], lake, instance, selection=[typed, reader]).success

    expected_dtypes = {
        "text": "string[pyarrow]",
        "python_text": "string[python]",
        "count": "Int64",
        "amount": "Float64",
        "flag": "boolean",
        "at": "datetime64[ns]",
        "at_utc": "datetime64[ns, UTC]",
    }
    for frame in (received["typed"], received["typed_daily"]):
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), every_dtype())
        for column, dtype in expected_dtypes.items():
            assert frame[column].dtype == pd.api.types.pandas_dtype(dtype), column


def test_a_corrupt_file_fails_naming_it(lake, instance):
    materialize_orders(lake, instance, "2024-01-02")
    orders_file(lake, "2024-01-02").write_bytes(b"this is not parquet")
    silver = late_rows_reader({}, allow_missing=True)

    result = run(
        [orders_asset(orders_of_run), silver],
        lake,
        instance,
        partition_key="2024-01-02",
        selection=[silver],
    )

    text = failure_text(result)
    assert str(orders_file(lake, "2024-01-02")) in text
    assert "re-materialize bronze/orders for partition 2024-01-02" in text


def test_an_unmaterialized_unpartitioned_input_fails_clearly(lake, instance):
    @dg.asset(key_prefix="gold")
    def customer_rfm() -> pd.DataFrame:
        return pd.DataFrame({"a": [1]})

    @dg.asset(ins={"rfm": dg.AssetIn(["gold", "customer_rfm"])})
    def report(rfm: pd.DataFrame) -> None:
        pass

    text = failure_text(run([customer_rfm, report], lake, instance, selection=[report]))
    assert "gold/customer_rfm has not been materialized" in text
    assert str(lake / "gold" / "customer_rfm.parquet") in text

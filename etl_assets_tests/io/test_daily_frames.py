"""Range runs that hold one day at a time: DailyFrames outputs and LakePartitions inputs."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from etl_assets.io.daily_frames import CATEGORIES, COLUMNS, DailyFrames, LakePartitions
from etl_assets.io.lake import ParquetLakeIOManager
from etl_assets.quality.checks.frame_types import dataframe_type
from etl_assets_tests.conftest import range_tags
from etl_assets_tests.io.lake.test_parquet_lake import (
    DAILY,
    ORDERS_METADATA,
    SINGLE_RUN,
    failure_text,
    orders_file,
    orders_for,
)

RANGE = ("2024-01-01", "2024-01-03")
DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]
ALLOW_MISSING = {"allow_missing_partitions": True}


def run(assets, lake: Path, instance, key_range=RANGE, partition_key=None):
    tags = range_tags(*key_range) if key_range else None
    return dg.materialize(
        assets,
        resources={
            "io_manager": ParquetLakeIOManager(base_path=str(lake)),
            "day_by_day": ParquetLakeIOManager(base_path=str(lake), day_by_day=True),
        },
        instance=instance,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=False,
    )


def daily_orders(produce, groups=None, **kwargs) -> dg.AssetsDefinition:
    """bronze/orders returning DailyFrames over the run's days, each made by `produce`
    (or, with `groups`, each group of days made by `produce(group)`)."""

    @dg.asset(
        key_prefix="bronze",
        name="orders",
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        metadata=ORDERS_METADATA,
        **kwargs,
    )
    def orders(context: dg.AssetExecutionContext):
        if groups is not None:
            return DailyFrames(list(context.partition_keys), produce, groups=groups)
        return DailyFrames(
            list(context.partition_keys), lambda group: produce(group[0]), lambda: {"made": 1}
        )

    return orders


def test_each_day_is_produced_written_and_described(lake, instance):
    produced = []

    def produce(key: str) -> pd.DataFrame:
        produced.append(key)
        return orders_for(key, rows_per_day=3)

    result = run([daily_orders(produce)], lake, instance)

    assert result.success
    assert produced == DAYS
    for day in DAYS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(orders_file(lake, day)), orders_for(day, rows_per_day=3)
        )
    events = result.get_asset_materialization_events()
    assert [e.materialization.metadata["dagster/row_count"].value for e in events] == [3, 3, 3]
    metadata = events[0].materialization.metadata
    assert metadata["rows_per_partition"].value == dict.fromkeys(DAYS, 3)
    assert metadata["made"].value == 1  # the producer's summary


def test_small_days_computed_together_are_split_into_their_files(lake, instance):
    calls = []

    def produce(group: list[str]) -> pd.DataFrame:
        calls.append(group)
        return orders_for(*group, rows_per_day=2)

    groups = [["2024-01-01", "2024-01-02"], ["2024-01-03"]]
    result = run([daily_orders(produce, groups=groups)], lake, instance)

    assert result.success
    assert calls == groups
    for day in DAYS:
        pd.testing.assert_frame_equal(pd.read_parquet(orders_file(lake, day)), orders_for(day))


def test_groups_must_cover_the_keys_in_order():
    with pytest.raises(ValueError, match="cover the keys"):
        DailyFrames(DAYS, lambda group: orders_for(*group), groups=[["2024-01-02"], DAYS[:1]])


def test_a_failing_day_writes_nothing_and_keeps_the_old_files(lake, instance):
    assert run([daily_orders(lambda key: orders_for(key))], lake, instance).success
    before = {day: orders_file(lake, day).read_bytes() for day in DAYS}

    def produce(key: str) -> pd.DataFrame:
        if key == "2024-01-03":
            raise RuntimeError("source unreadable")
        return orders_for(key, rows_per_day=5)

    result = run([daily_orders(produce)], lake, instance)

    assert "source unreadable" in failure_text(result)
    assert {day: orders_file(lake, day).read_bytes() for day in DAYS} == before
    leftovers = [p.name for p in (lake / "bronze" / "orders").iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_a_row_of_another_day_fails_the_run(lake, instance):
    result = run([daily_orders(lambda key: orders_for("2024-01-01"))], lake, instance)

    text = failure_text(result)
    assert "outside the partitions of this run (2024-01-02..2024-01-02)" in text
    assert not orders_file(lake, "2024-01-01").exists()


def test_the_days_must_be_the_runs(lake, instance):
    @dg.asset(
        key_prefix="bronze",
        name="orders",
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        metadata=ORDERS_METADATA,
    )
    def orders(context: dg.AssetExecutionContext):
        return DailyFrames(["2024-01-01"], lambda group: orders_for(*group))

    assert "return DailyFrames over exactly the run's partition keys" in failure_text(
        run([orders], lake, instance)
    )


def test_the_declared_type_is_checked_on_every_day(lake, instance):
    schema = {"invoice_no": "string[pyarrow]", "quantity": "Int64", "order_date": "datetime64[ns]"}

    def produce(key: str) -> pd.DataFrame:
        frame = orders_for(key)
        if key == "2024-01-02":
            frame["quantity"] = frame["quantity"].astype("float64")
        return frame

    result = run(
        [daily_orders(produce, dagster_type=dataframe_type("orders", schema))], lake, instance
    )

    text = failure_text(result)
    assert "partition 2024-01-02" in text and "quantity" in text
    assert not orders_file(lake, "2024-01-01").exists()


def test_an_input_read_on_demand_by_day_and_columns(lake, instance):
    source = daily_orders(lambda key: orders_for(key, rows_per_day=4))
    assert run([source], lake, instance).success
    seen = {}

    @dg.asset(
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        ins={"orders": dg.AssetIn(["bronze", "orders"], input_manager_key="day_by_day")},
    )
    def reader(orders: LakePartitions) -> None:
        seen["keys"] = orders.keys
        seen["rows"] = orders.row_counts()
        seen["chunks"] = orders.chunks(max_rows=8)
        seen["one_day"] = orders.read(["2024-01-02"])
        seen["columns"] = orders.read(columns=["quantity"])

    result = dg.materialize(
        [source, reader],
        resources={
            "io_manager": dg.mem_io_manager,
            "day_by_day": ParquetLakeIOManager(base_path=str(lake), day_by_day=True),
        },
        instance=instance,
        tags=range_tags(*RANGE),
        selection=[reader],
    )

    assert result.success
    assert seen["keys"] == DAYS
    assert seen["rows"] == dict.fromkeys(DAYS, 4)
    assert seen["chunks"] == [["2024-01-01", "2024-01-02"], ["2024-01-03"]]
    pd.testing.assert_frame_equal(seen["one_day"], orders_for("2024-01-02", rows_per_day=4))
    assert list(seen["columns"].columns) == ["quantity"] and len(seen["columns"]) == 12


def read_whole_orders(lake, instance, metadata: dict) -> pd.DataFrame:
    """Every day of bronze/orders, as an unpartitioned asset reads it with this metadata."""
    source = daily_orders(lambda key: orders_for(key))
    assert run([source], lake, instance).success
    seen = {}

    @dg.asset(
        ins={"orders": dg.AssetIn(["bronze", "orders"], metadata={**metadata, **ALLOW_MISSING})}
    )
    def reader(orders: pd.DataFrame) -> None:
        seen["orders"] = orders

    result = dg.materialize(
        [source, reader],
        resources={"io_manager": ParquetLakeIOManager(base_path=str(lake))},
        instance=instance,
        selection=[reader],
    )
    assert result.success
    return seen["orders"]


def test_columns_metadata_reads_only_those_columns(lake, instance):
    orders = read_whole_orders(lake, instance, {COLUMNS: ["quantity"]})

    assert list(orders.columns) == ["quantity"]
    assert pq.read_table(orders_file(lake, "2024-01-01")).num_columns == 3


def test_non_null_rows_come_from_footers_or_from_the_column_without_statistics(tmp_path):
    from upath import UPath

    from etl_assets.io.lake.reading import non_null_rows as _non_null_rows

    frame = pd.DataFrame({"a": pd.array(["x", None, "z"], dtype="string"), "b": [1.0, 2.0, None]})
    with_stats, without = tmp_path / "with.parquet", tmp_path / "without.parquet"
    frame.to_parquet(with_stats)
    frame.to_parquet(without, write_statistics=False)

    counts = _non_null_rows(
        {"with": UPath(with_stats), "without": UPath(without)}, dg.AssetKey("x")
    )

    assert counts["with"] == {"a": 2, "b": 2}
    assert counts["without"] == {"a": 2, "b": 2}


def test_strings_read_as_categories_hold_the_same_values(tmp_path):
    """Strings from the Parquet dictionaries: the same values and nulls as a plain read, over
    files whose dictionaries differ; other columns unchanged."""
    from upath import UPath

    from etl_assets.io.lake.reading import categories_as_strings as _categories_as_strings
    from etl_assets.io.lake.reading import concat_partitions as _concat
    from etl_assets.io.lake.reading import read_partition_files as _read_partition_files

    days = {
        "d1": pd.DataFrame(
            {"s": pd.array(["b", None, "a", "b"], dtype="string[pyarrow]"), "n": [1, 2, 3, 4]}
        ),
        "d2": pd.DataFrame({"s": pd.array(["c", "a"], dtype="string[pyarrow]"), "n": [5, 6]}),
    }
    paths = {}
    for key, frame in days.items():
        paths[key] = UPath(tmp_path / f"{key}.parquet")
        frame.to_parquet(paths[key].path)
    key = dg.AssetKey("x")

    plain = _concat(_read_partition_files(paths, key, ["s", "n"]), key).to_pandas()
    tables = _read_partition_files(paths, key, ["s", "n"], categories=True)
    categorical = _categories_as_strings(_concat(tables, key).to_pandas())

    assert isinstance(categorical["s"].dtype, pd.CategoricalDtype)
    assert categorical["s"].cat.categories.dtype == "string"  # as astype("category") gives
    assert categorical["n"].dtype == plain["n"].dtype
    assert categorical["s"].astype(object).where(categorical["s"].notna(), None).tolist() == [
        "b",
        None,
        "a",
        "b",
        "c",
        "a",
    ]
    pd.testing.assert_series_equal(
        categorical["s"].astype("string[pyarrow]"), plain["s"], check_dtype=False
    )


def test_categories_metadata_reads_those_string_columns_as_categoricals(lake, instance):
    orders = read_whole_orders(lake, instance, {CATEGORIES: ["invoice_no", "quantity"]})

    assert isinstance(orders["invoice_no"].dtype, pd.CategoricalDtype)
    assert orders["quantity"].dtype == "Int64"  # not a string column: as stored
    expected = pd.concat([orders_for(day) for day in DAYS], ignore_index=True)
    pd.testing.assert_frame_equal(
        orders.astype({"invoice_no": "string[pyarrow]"}), expected, check_like=True
    )

"""The Postgres warehouse resource and IO manager, against a real server.

Every test works in its own schema (fixture ``pg_schema``), dropped afterwards. Without a
server the tests skip, except under CI=true where they fail (see postgres_fixtures).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg2
import pytest
from psycopg2 import sql

from etl_assets.connectors.postgres import (
    WAREHOUSE_RETRY_POLICY,
    PostgresWarehouse,
    WarehouseConnectionError,
    redact_url,
)
from etl_assets.io.warehouse import PostgresWarehouseIOManager
from etl_assets.io.warehouse import copy as warehouse_copy
from etl_assets.io.warehouse.reading import read_table
from etl_assets.io.warehouse.sql_types import frame_to_arrow
from etl_assets.io.warehouse.swap import replace_window
from etl_assets.io.warehouse.tables import TableRef
from etl_assets_tests import postgres_fixtures
from etl_assets_tests.conftest import range_tags
from etl_assets_tests.postgres_fixtures import query, unique_name, with_url_parts

# The shared Postgres fixtures, bound here so pytest finds them.
postgres_url = postgres_fixtures.postgres_url
pg_schema = postgres_fixtures.pg_schema
warehouse = postgres_fixtures.warehouse

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")
SINGLE_RUN = dg.BackfillPolicy.single_run()
SALES_METADATA = {"partition_expr": "order_date"}
SECRET = "pw-s3cr3t-9431"
PROJECT_ROOT = Path(__file__).resolve().parents[3]


# -------------------------------------------------------------------------- helpers


def sales_for(*days: str, rows_per_day: int = 2, version: int = 1) -> pd.DataFrame:
    """A gold-shaped frame: `rows_per_day` countries per day; `version` changes the values."""
    rows = [(pd.Timestamp(day), n) for day in days for n in range(rows_per_day)]
    return pd.DataFrame(
        {
            "order_date": pd.Series([d for d, _ in rows], dtype="datetime64[ns]"),
            "country": pd.array([f"C{n}" for _, n in rows], dtype="string[pyarrow]"),
            "units": pd.array([version * 10 + n for _, n in rows], dtype="Int64"),
            "revenue": pd.array([version * 1.5 + n for _, n in rows], dtype="Float64"),
        }
    )


def sales_asset(frame_for_run, key=("gold", "daily_sales"), **kwargs) -> dg.AssetsDefinition:
    """A daily asset whose output is `frame_for_run(context)`."""

    @dg.asset(
        key=list(key),
        partitions_def=kwargs.pop("partitions_def", DAILY),
        backfill_policy=SINGLE_RUN,
        metadata=kwargs.pop("metadata", SALES_METADATA),
        retry_policy=kwargs.pop("retry_policy", None),
        **kwargs,
    )
    def _sales(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frame_for_run(context)

    return _sales


def whole_asset(frame: pd.DataFrame, key=("gold", "customer_rfm")) -> dg.AssetsDefinition:
    @dg.asset(key=list(key))
    def _whole() -> pd.DataFrame:
        return frame

    return _whole


def io_manager(url: str, schema: str) -> PostgresWarehouseIOManager:
    # The prefix puts layer "gold" in the test's own schema "<pg_schema>_gold".
    return PostgresWarehouseIOManager(
        warehouse=PostgresWarehouse(url=url), schema_prefix=f"{schema}_"
    )


def run(assets, url: str, schema: str, *, partition_key=None, key_range=None):
    tags = range_tags(*key_range) if key_range else None
    return dg.materialize(
        assets,
        resources={"io_manager": io_manager(url, schema)},
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=partition_key,
        tags=tags,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success, "the run was expected to fail"
    failures = [event for event in result.all_events if event.is_step_failure]
    return "\n".join(event.step_failure_data.error.to_string() for event in failures)


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict:
    assert result.success, failure_text(result)
    (event,) = result.get_asset_materialization_events()[:1]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def table_rows(url: str, schema: str, table: str, order_by: str = "order_date") -> pd.DataFrame:
    ref = TableRef(schema, table)
    warehouse = PostgresWarehouse(url=url)
    try:
        frame = read_table(warehouse, ref)
    finally:
        warehouse.close()
    assert frame is not None, f"no table {ref}"
    if order_by in frame.columns:
        frame = frame.sort_values([order_by, *frame.columns[:2]], ignore_index=True)
    return frame


def column_types_of(url: str, schema: str, table: str) -> dict[str, str]:
    rows = query(
        url,
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
        (schema, table),
    )
    return dict(rows)


# ------------------------------------------------------------------------ resource


def test_redacted_url_hides_the_password_in_every_dsn_form():
    assert redact_url(f"postgresql://bob:{SECRET}@db:6543/wh") == "postgresql://bob:***@db:6543/wh"
    assert SECRET not in redact_url(f"postgresql://db/wh?user=bob&password={SECRET}")
    assert redact_url(f"host=db password='{SECRET} x' user=bob") == "host=db password=*** user=bob"
    assert redact_url("postgresql://bob@db/wh") == "postgresql://bob@db/wh"


def test_the_resource_repr_never_shows_the_url():
    warehouse = PostgresWarehouse(url=f"postgresql://bob:{SECRET}@db:6543/wh")
    assert SECRET not in repr(warehouse) and SECRET not in str(warehouse)
    assert warehouse.redacted_url == "postgresql://bob:***@db:6543/wh"


def test_retry_policy_backs_off_exponentially_with_jitter():
    assert WAREHOUSE_RETRY_POLICY.max_retries == 3
    assert WAREHOUSE_RETRY_POLICY.delay == 1
    assert WAREHOUSE_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert WAREHOUSE_RETRY_POLICY.jitter == dg.Jitter.PLUS_MINUS


def test_server_down_names_host_and_port_and_never_the_password():
    warehouse = PostgresWarehouse(
        url=f"postgresql://bob:{SECRET}@127.0.0.1:1/wh", connect_timeout=2
    )

    with pytest.raises(WarehouseConnectionError) as caught:
        with warehouse.connection():
            pass

    error = caught.value
    assert "127.0.0.1:1" in str(error) and "refused" in str(error).lower()
    assert SECRET not in str(error) and SECRET not in repr(error.metadata)
    assert error.__cause__ is None and error.__context__ is None  # no psycopg2 text chained
    assert error.allow_retries  # a down server is retried by the step's RetryPolicy


def test_server_down_fails_the_run_clearly_after_the_retries():
    url = f"postgresql://bob:{SECRET}@127.0.0.1:1/wh"
    asset = sales_asset(
        lambda context: sales_for(context.partition_key),
        retry_policy=dg.RetryPolicy(max_retries=1, delay=0.01),
    )
    result = run([asset], url, "nowhere", partition_key="2024-01-01")

    text = failure_text(result)
    assert "127.0.0.1:1" in text and "Cannot connect to the Postgres warehouse" in text
    assert SECRET not in text
    assert SECRET not in "".join(str(event) for event in result.all_events)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1


def test_connections_are_released_when_the_run_ends(postgres_url, pg_schema):
    app = unique_name("pool")
    url = with_url_parts(postgres_url, application_name=app)
    asset = sales_asset(lambda context: sales_for(context.partition_key))

    assert run([asset], url, pg_schema, partition_key="2024-01-01").success

    sessions = query(
        postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)
    )
    assert sessions == [(0,)]


# ------------------------------------------------------------------ CSV streaming


def test_chunk_stream_serves_reads_of_any_size_across_chunks():
    stream = warehouse_copy.ChunkStream(iter([b"abc", b"", b"defg"]))
    assert [stream.read(2), stream.read(2), stream.read(10), stream.read(2)] == [
        b"ab",
        b"c",
        b"defg",
        b"",
    ]


def test_chunks_made_ahead_keep_order_and_raise_the_producers_error():
    def chunks():
        yield b"1"
        yield b"2"
        raise RuntimeError("producer broke")

    received = []
    with pytest.raises(RuntimeError, match="producer broke"):
        for chunk in warehouse_copy.produced_ahead(chunks()):
            received.append(chunk)
    assert received == [b"1", b"2"]


def test_closing_the_consumer_early_stops_the_producer_thread():
    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield b"x"

    stream = warehouse_copy.produced_ahead(endless(), depth=2)
    assert next(stream) == b"x"
    stream.close()  # joins the thread: it must notice and stop
    assert len(produced) <= 5


def test_nulls_and_empty_strings_are_told_apart_in_the_csv():
    frame = pd.DataFrame({"text": pd.array(["", None, 'say "hi"'], dtype="string[pyarrow]")})
    table = frame_to_arrow(frame, "test")
    assert b"".join(warehouse_copy.csv_chunks(table)) == b'""\n\n"say ""hi"""\n'


# -------------------------------------------------------------------- first write


def test_first_write_creates_schema_and_table_from_the_dtypes(postgres_url, pg_schema):
    url = with_url_parts(postgres_url, password=SECRET)  # trust auth ignores it
    frame = sales_for("2024-01-01").assign(
        is_late=pd.array([True, None], dtype="boolean"),
        loaded_at=pd.Series(pd.to_datetime(["2024-01-02 03:04:05", None]).tz_localize("UTC")),
        shops=pd.Series([1, 2], dtype="int32"),
    )
    result = run([sales_asset(lambda context: frame)], url, pg_schema, partition_key="2024-01-01")

    metadata = materialization_metadata(result)
    assert column_types_of(postgres_url, f"{pg_schema}_gold", "daily_sales") == {
        "order_date": "timestamp without time zone",
        "country": "text",
        "units": "bigint",
        "revenue": "double precision",
        "is_late": "boolean",
        "loaded_at": "timestamp with time zone",
        "shops": "integer",
    }
    assert metadata["dagster/row_count"] == 2
    assert metadata["rows_deleted"] == 0
    assert metadata["table"] == f"{pg_schema}_gold.daily_sales"
    assert metadata["dagster/table_name"].endswith(f".{pg_schema}_gold.daily_sales")
    assert metadata["seconds"] >= 0
    everything = "".join(str(event) for event in result.all_events)
    assert SECRET not in everything and SECRET not in str(metadata)


# ---------------------------------------------------------------------- partitions


def test_rerunning_a_partition_replaces_it_without_duplicates(postgres_url, pg_schema):
    asset = sales_asset(lambda context: sales_for(context.partition_key, rows_per_day=3))
    for day in ("2024-01-01", "2024-01-02", "2024-01-02"):
        result = run([asset], postgres_url, pg_schema, partition_key=day)

    assert materialization_metadata(result)["rows_deleted"] == 3
    rows = table_rows(postgres_url, f"{pg_schema}_gold", "daily_sales")
    assert len(rows) == 6
    assert not rows.duplicated(["order_date", "country"]).any()


def test_single_run_backfill_replaces_exactly_its_range(postgres_url, pg_schema):
    first = sales_asset(lambda context: sales_for(*context.partition_keys, version=1))
    assert run([first], postgres_url, pg_schema, key_range=("2024-01-01", "2024-01-04")).success

    # The second backfill returns fewer rows per day: stale rows must go, not linger.
    second = sales_asset(
        lambda context: sales_for(*context.partition_keys, rows_per_day=1, version=2)
    )
    result = run([second], postgres_url, pg_schema, key_range=("2024-01-02", "2024-01-03"))

    assert materialization_metadata(result)["rows_deleted"] == 4
    rows = table_rows(postgres_url, f"{pg_schema}_gold", "daily_sales")
    by_day = rows.groupby(rows["order_date"].dt.strftime("%Y-%m-%d"))["units"].apply(list)
    assert by_day.to_dict() == {
        "2024-01-01": [10, 11],
        "2024-01-02": [20],
        "2024-01-03": [20],
        "2024-01-04": [10, 11],
    }


def test_rows_outside_the_run_window_fail_and_write_nothing(postgres_url, pg_schema):
    asset = sales_asset(lambda context: sales_for("2024-01-01", "2024-01-09"))
    result = run([asset], postgres_url, pg_schema, partition_key="2024-01-01")

    text = failure_text(result)
    assert "outside this run's partitions" in text and "2024-01-09" in text
    assert query(postgres_url, "SELECT to_regclass(%s)", (f"{pg_schema}_gold.daily_sales",)) == [
        (None,)
    ]


def test_partitioned_asset_without_partition_expr_fails_clearly(postgres_url, pg_schema):
    asset = sales_asset(lambda context: sales_for(context.partition_key), metadata={})
    text = failure_text(run([asset], postgres_url, pg_schema, partition_key="2024-01-01"))
    assert "partition_expr" in text


# ------------------------------------------------------------------ schema changes


def test_a_new_column_is_added_and_old_rows_get_null(postgres_url, pg_schema):
    asset = sales_asset(lambda context: sales_for(context.partition_key))
    assert run([asset], postgres_url, pg_schema, partition_key="2024-01-01").success
    wider = sales_asset(
        lambda context: sales_for(context.partition_key).assign(
            margin=pd.array([0.25, None], dtype="Float64")
        )
    )
    assert run([wider], postgres_url, pg_schema, partition_key="2024-01-02").success

    rows = table_rows(postgres_url, f"{pg_schema}_gold", "daily_sales")
    assert rows["margin"].dtype == "Float64"
    assert rows["margin"].isna().tolist() == [True, True, False, True]


def test_an_incompatible_type_change_fails_naming_table_column_and_types(postgres_url, pg_schema):
    asset = sales_asset(lambda context: sales_for(context.partition_key))
    assert run([asset], postgres_url, pg_schema, partition_key="2024-01-01").success
    text_units = sales_asset(
        lambda context: sales_for(context.partition_key).astype({"units": "string"})
    )
    result = run([text_units], postgres_url, pg_schema, partition_key="2024-01-01")

    text = failure_text(result)
    assert f"{pg_schema}_gold.daily_sales" in text
    assert "'units' is bigint in the table but text in the output" in text
    assert len(table_rows(postgres_url, f"{pg_schema}_gold", "daily_sales")) == 2  # untouched


# -------------------------------------------------------------------- identifiers


HOSTILE_COLUMN = 'a"; DROP TABLE canary; --'


def test_hostile_identifiers_are_quoted_not_executed(postgres_url, pg_schema):
    query(
        postgres_url, sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(pg_schema, "canary"))
    )
    frame = pd.DataFrame(
        {
            HOSTILE_COLUMN: pd.array(["x'); DROP TABLE canary; --", None], dtype="string"),
            "50% off": pd.array([1, 2], dtype="Int64"),
            "with space": pd.array([1.5, None], dtype="Float64"),
        }
    )
    odd_key = [pg_schema, 'odd "name"; DROP TABLE canary; --']

    @dg.multi_asset(name="odd", outs={"out": dg.AssetOut(key=odd_key)})
    def odd():
        return frame

    resources = {
        "io_manager": PostgresWarehouseIOManager(warehouse=PostgresWarehouse(url=postgres_url))
    }
    assert dg.materialize([odd], resources=resources).success
    assert dg.materialize([odd], resources=resources).success  # the swap path, twice

    stored = table_rows(postgres_url, pg_schema, odd_key[1])
    pd.testing.assert_frame_equal(stored, frame.astype({HOSTILE_COLUMN: "string[pyarrow]"}))
    assert query(postgres_url, "SELECT to_regclass(%s)", (f"{pg_schema}.canary",)) != [(None,)]


def test_names_longer_than_63_bytes_are_refused(postgres_url, pg_schema):
    long_name = "é" * 32  # 64 bytes in UTF-8: Postgres would truncate it
    frame = pd.DataFrame({long_name: pd.array([1], dtype="Int64")})
    result = run([whole_asset(frame)], postgres_url, pg_schema)

    text = failure_text(result)
    assert "64 bytes" in text and "1 to 63 bytes" in text
    assert query(postgres_url, "SELECT to_regclass(%s)", (f"{pg_schema}_gold.customer_rfm",)) == [
        (None,)
    ]


# ------------------------------------------------------------------ round trips


def every_dtype() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_date": pd.Series(
                pd.to_datetime(
                    ["2024-01-01", "2024-01-01 06:00", "2024-01-01 23:59:59.123456"],
                    format="ISO8601",
                ),
                dtype="datetime64[ns]",
            ),
            "text": pd.array(["plain", "", None], dtype="string[pyarrow]"),
            "tricky": pd.array(['a,"b"\nc', "\\N", "NULL"], dtype="string[pyarrow]"),
            "count": pd.array([1, None, -(2**62)], dtype="Int64"),
            "amount": pd.array([0.1 + 0.2, None, 1e-300], dtype="Float64"),
            "flag": pd.array([True, False, None], dtype="boolean"),
            "at": pd.Series(
                pd.to_datetime(
                    ["2024-01-01 10:00:00.5", None, "1999-12-31"], format="ISO8601"
                ).tz_localize("UTC")
            ),
        }
    )


def reader_asset(name: str, seen: dict, partitions_def=None) -> dg.AssetsDefinition:
    """An asset that loads gold/daily_sales through the warehouse and keeps what it got."""

    @dg.asset(
        key=["gold", name],
        ins={"daily_sales": dg.AssetIn(key=["gold", "daily_sales"])},
        partitions_def=partitions_def,
        io_manager_key="memory",
    )
    def _reader(daily_sales: pd.DataFrame) -> None:
        seen[name] = daily_sales

    return _reader


def load_through_warehouse(url: str, schema: str, upstream, reader, partition_key=None):
    resources = {"io_manager": io_manager(url, schema), "memory": dg.mem_io_manager}
    result = dg.materialize(
        [upstream, reader],
        resources=resources,
        partition_key=partition_key,
        selection=[reader.key],
    )
    assert result.success, failure_text(result)


def test_dtypes_nulls_and_empty_strings_round_trip_through_load_input(postgres_url, pg_schema):
    frame = every_dtype()
    upstream = sales_asset(lambda context: frame)
    assert run([upstream], postgres_url, pg_schema, partition_key="2024-01-01").success
    seen: dict[str, pd.DataFrame] = {}

    reader = reader_asset("reader", seen, DAILY)
    load_through_warehouse(postgres_url, pg_schema, upstream, reader, "2024-01-01")

    pd.testing.assert_frame_equal(seen["reader"], frame)


def test_a_single_nullable_column_keeps_its_null_rows(postgres_url, pg_schema):
    frame = pd.DataFrame({"only": pd.array(["a", None, "", None], dtype="string[pyarrow]")})
    assert run([whole_asset(frame)], postgres_url, pg_schema).success

    stored = table_rows(postgres_url, f"{pg_schema}_gold", "customer_rfm")
    pd.testing.assert_frame_equal(stored, frame)


def test_load_input_reads_one_partition_or_every_partition(postgres_url, pg_schema):
    upstream = sales_asset(lambda context: sales_for(*context.partition_keys))
    assert run([upstream], postgres_url, pg_schema, key_range=("2024-01-01", "2024-01-03")).success
    seen: dict[str, pd.DataFrame] = {}

    per_day = reader_asset("per_day", seen, DAILY)
    load_through_warehouse(postgres_url, pg_schema, upstream, per_day, "2024-01-02")
    all_days = reader_asset("all_days", seen)
    load_through_warehouse(postgres_url, pg_schema, upstream, all_days)

    pd.testing.assert_frame_equal(seen["per_day"], sales_for("2024-01-02"))
    pd.testing.assert_frame_equal(
        seen["all_days"], sales_for("2024-01-01", "2024-01-02", "2024-01-03")
    )


# ----------------------------------------------------------------- atomic loads


@pytest.fixture
def dying_copy(monkeypatch):
    """From now on every COPY dies after its first chunk of rows, as a killed load would."""
    real_chunks = warehouse_copy.csv_chunks

    def chunks_then_death(table, batch_rows=warehouse_copy.COPY_BATCH_ROWS):
        for number, chunk in enumerate(real_chunks(table, batch_rows=2)):
            if number == 1:
                raise RuntimeError("killed mid-COPY")
            yield chunk

    monkeypatch.setattr(warehouse_copy, "csv_chunks", chunks_then_death)


def test_a_partition_load_killed_midway_leaves_the_old_rows(postgres_url, pg_schema, request):
    first = sales_asset(lambda context: sales_for(context.partition_key, rows_per_day=3))
    assert run([first], postgres_url, pg_schema, partition_key="2024-01-01").success

    request.getfixturevalue("dying_copy")
    second = sales_asset(
        lambda context: sales_for(context.partition_key, rows_per_day=5, version=2)
    )
    text = failure_text(run([second], postgres_url, pg_schema, partition_key="2024-01-01"))

    assert "killed mid-COPY" in text
    rows = table_rows(postgres_url, f"{pg_schema}_gold", "daily_sales")
    assert rows["units"].tolist() == [10, 11, 12]


def test_a_swap_load_killed_midway_leaves_the_old_table(postgres_url, pg_schema, request):
    old = sales_for("2024-01-01", rows_per_day=3)
    assert run([whole_asset(old)], postgres_url, pg_schema).success

    request.getfixturevalue("dying_copy")
    new = sales_for("2024-01-01", rows_per_day=5, version=2)
    assert "killed mid-COPY" in failure_text(run([whole_asset(new)], postgres_url, pg_schema))

    pd.testing.assert_frame_equal(
        table_rows(postgres_url, f"{pg_schema}_gold", "customer_rfm"), old
    )
    assert tables_in(postgres_url, f"{pg_schema}_gold") == ["customer_rfm"]  # no stage left


def tables_in(url: str, schema: str) -> list[str]:
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,))
    return [name for (name,) in rows]


CHILD_LOAD = textwrap.dedent(
    """
    import sys, time
    import dagster as dg, pandas as pd
    from etl_assets.connectors.postgres import PostgresWarehouse
    from etl_assets.io.warehouse import copy as warehouse_copy
    from etl_assets.io.warehouse.sql_types import frame_to_arrow
    from etl_assets.io.warehouse.swap import replace_window
    from etl_assets.io.warehouse.tables import TableRef

    real_chunks = warehouse_copy.csv_chunks

    def slow_chunks(table, batch_rows=1000):
        for chunk in real_chunks(table, batch_rows=1000):
            yield chunk
            time.sleep(0.05)  # a long COPY, so the parent can kill us in the middle

    warehouse_copy.csv_chunks = slow_chunks
    url, schema = sys.argv[1], sys.argv[2]
    frame = pd.DataFrame({
        "order_date": pd.Series([pd.Timestamp("2024-01-01")] * 200_000, dtype="datetime64[ns]"),
        "units": pd.array(range(200_000), dtype="Int64"),
    })
    day = pd.Timestamp("2024-01-01", tz="UTC")
    window = dg.TimeWindow(day, day + pd.Timedelta(days=1))
    replace_window(
        PostgresWarehouse(url=url), TableRef(schema, "daily"),
        frame_to_arrow(frame, "child"), "order_date", window,
    )
    """
)


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_process_killed_with_sigkill_mid_copy_leaves_the_old_rows(
    postgres_url, pg_schema, warehouse
):
    old = pd.DataFrame(
        {
            "order_date": pd.Series([pd.Timestamp("2024-01-01")] * 3, dtype="datetime64[ns]"),
            "units": pd.array([1, 2, 3], dtype="Int64"),
        }
    )
    ref = TableRef(pg_schema, "daily")
    window = dg.TimeWindow(
        pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
    )
    replace_window(warehouse, ref, frame_to_arrow(old, "old"), "order_date", window)
    app = unique_name("sigkill")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD_LOAD,
            with_url_parts(postgres_url, application_name=app),
            pg_schema,
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        copying = """SELECT count(*) FROM pg_stat_progress_copy p
                     JOIN pg_stat_activity a USING (pid)
                     WHERE a.application_name = %s AND p.tuples_processed > 0"""
        wait_for(lambda: query(postgres_url, copying, (app,)) == [(1,)], "the child's COPY")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    sessions = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    wait_for(lambda: query(postgres_url, sessions, (app,)) == [(0,)], "the server to roll back")

    assert child.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(read_table(warehouse, ref), old)


# ----------------------------------------------------------------- unpartitioned


def test_unpartitioned_asset_is_swapped_in_whole_keeping_grants(postgres_url, pg_schema):
    old = sales_for("2024-01-01", rows_per_day=3)
    assert run([whole_asset(old)], postgres_url, pg_schema).success
    table = sql.Identifier(f"{pg_schema}_gold", "customer_rfm")
    query(postgres_url, sql.SQL("GRANT SELECT ON {} TO PUBLIC").format(table))

    new = sales_for("2024-01-02", "2024-01-03", rows_per_day=1, version=2)
    result = run([whole_asset(new)], postgres_url, pg_schema)

    metadata = materialization_metadata(result)
    assert (metadata["dagster/row_count"], metadata["rows_deleted"]) == (2, 3)
    pd.testing.assert_frame_equal(
        table_rows(postgres_url, f"{pg_schema}_gold", "customer_rfm"), new
    )
    assert tables_in(postgres_url, f"{pg_schema}_gold") == ["customer_rfm"]
    grants = query(
        postgres_url,
        "SELECT has_table_privilege('public', %s, 'SELECT')",
        (f"{pg_schema}_gold.customer_rfm",),
    )
    assert grants == [(True,)]


def test_a_view_on_an_unpartitioned_table_stops_the_swap_clearly(postgres_url, pg_schema):
    old = sales_for("2024-01-01")
    assert run([whole_asset(old)], postgres_url, pg_schema).success
    query(
        postgres_url,
        sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
            sql.Identifier(f"{pg_schema}_gold", "rfm_view"),
            sql.Identifier(f"{pg_schema}_gold", "customer_rfm"),
        ),
    )
    text = failure_text(run([whole_asset(sales_for("2024-01-02"))], postgres_url, pg_schema))

    assert "other objects depend on it" in text and "rfm_view" in text
    pd.testing.assert_frame_equal(
        table_rows(postgres_url, f"{pg_schema}_gold", "customer_rfm"), old
    )


def test_a_swap_blocked_by_a_reader_times_out_retryably_and_changes_nothing(
    postgres_url, pg_schema
):
    old = sales_for("2024-01-01")
    assert run([whole_asset(old)], postgres_url, pg_schema).success
    reader = psycopg2.connect(postgres_url)  # an open transaction that read the table
    try:
        with reader.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(f"{pg_schema}_gold", "customer_rfm")
                )
            )
        manager = PostgresWarehouseIOManager(
            warehouse=PostgresWarehouse(url=postgres_url),
            schema_prefix=f"{pg_schema}_",
            lock_timeout_seconds=0.5,
        )
        result = dg.materialize(
            [whole_asset(sales_for("2024-01-02"))],
            resources={"io_manager": manager},
            raise_on_error=False,
        )
    finally:
        reader.close()

    text = failure_text(result)
    assert f"Waited 0.5 s for a lock on {pg_schema}_gold.customer_rfm" in text
    pd.testing.assert_frame_equal(
        table_rows(postgres_url, f"{pg_schema}_gold", "customer_rfm"), old
    )
    assert tables_in(postgres_url, f"{pg_schema}_gold") == ["customer_rfm"]

"""The Postgres warehouse IO manager: pandas DataFrames published as tables, one table
per asset (which one: ``tables.py``). Why our own: Dagster's ecosystem has no maintained
pandas IO manager for Postgres.

Writing creates or extends the table from the frame's types (``ddl.py``, ``sql_types.py``),
streams the rows with COPY (``copy.py``) and replaces the run's time window, or the whole
table of an unpartitioned asset, in one transaction (``swap.py``). Reading returns the
partitions asked for, or the whole table (``reading.py``).
"""

import time
from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.partitions import (
    PARTITION_EXPR,
    describe,
    distinct_days,
    first_keys,
    partition_stamps,
    require_asset_key,
    require_frame,
)
from etl_assets.io.warehouse.ddl import LOCK_TIMEOUT_SECONDS
from etl_assets.io.warehouse.reading import read_table
from etl_assets.io.warehouse.sql_types import frame_to_arrow
from etl_assets.io.warehouse.swap import WriteResult, replace_table, replace_window
from etl_assets.io.warehouse.tables import table_for_context


class PostgresWarehouseIOManager(dg.ConfigurableIOManager):
    """Publishes pandas DataFrames to the Postgres warehouse, one table per asset.

    Partitioned assets need ``metadata={"partition_expr": "<timestamp column>"}``: the run's
    time window is deleted and reloaded in one transaction. Unpartitioned assets are swapped
    in whole. Loads return the partitions asked for, or the whole table.
    """

    warehouse: dg.ResourceDependency[PostgresWarehouse]
    schema_prefix: str = Field(
        default="",
        description="Put before every schema name, e.g. 'dev_' -> dev_gold.daily_sales.",
    )
    lock_timeout_seconds: float = Field(
        default=LOCK_TIMEOUT_SECONDS,
        description="Longest wait for readers' locks when changing or swapping a table.",
    )

    # ---------------------------------------------------------------- output

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        started = time.perf_counter()
        asset_key = require_asset_key(context, "PostgresWarehouseIOManager")
        frame = require_frame(obj, asset_key, "the warehouse")
        ref = table_for_context(context, asset_key, self.schema_prefix)
        table = frame_to_arrow(frame, describe(asset_key))
        window_text = ""
        if context.has_asset_partitions:
            column, window = _partition_column_and_window(context, asset_key)
            _check_rows_in_window(frame, column, window, context, asset_key)
            result = replace_window(
                self.warehouse, ref, table, column, window, self.lock_timeout_seconds
            )
            window_text = f" for {_window_text(context)}"
        else:
            result = replace_table(self.warehouse, ref, table, self.lock_timeout_seconds)
        if result.columns_added:
            context.log.info(f"Added columns to {ref}: {', '.join(result.columns_added)}.")
        seconds = time.perf_counter() - started
        context.log.debug(
            f"Published {result.rows_written} rows to {ref}{window_text} "
            f"({result.rows_deleted} replaced) in {seconds:.2f} s."
        )
        context.add_output_metadata(self._output_metadata(result, seconds))

    def _output_metadata(self, result: WriteResult, seconds: float) -> dict[str, dg.MetadataValue]:
        return {
            "dagster/row_count": dg.MetadataValue.int(result.rows_written),
            "dagster/table_name": dg.MetadataValue.text(
                f"{self.warehouse.database}.{result.table}"
            ),
            "dagster/storage_kind": dg.MetadataValue.text("postgres"),
            "table": dg.MetadataValue.text(str(result.table)),
            "rows_deleted": dg.MetadataValue.int(result.rows_deleted),
            "seconds": dg.MetadataValue.float(round(seconds, 4)),
        }

    # ----------------------------------------------------------------- input

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset_key = require_asset_key(context, "PostgresWarehouseIOManager")
        ref = table_for_context(context, asset_key, self.schema_prefix)
        column = window = None
        if context.has_asset_partitions:
            column, window = _partition_column_and_window(context, asset_key)
        frame = read_table(self.warehouse, ref, column, window)
        if frame is None:
            name = describe(asset_key)
            raise dg.Failure(
                description=(
                    f"{name} has not been published to the warehouse: there is no table {ref} "
                    f"in {self.warehouse.redacted_url}. Materialize {name} first."
                ),
                allow_retries=False,
            )
        context.log.debug(f"Read {len(frame)} rows of {ref}.")
        return frame


# ---------------------------------------------------------------------- checks


def _partition_column_and_window(
    context: dg.InputContext | dg.OutputContext, asset_key: dg.AssetKey
) -> tuple[str, dg.TimeWindow]:
    """The asset's ``partition_expr`` column and the time window the context covers."""
    output = context.upstream_output if isinstance(context, dg.InputContext) else context
    column = ((output.definition_metadata if output else None) or {}).get(PARTITION_EXPR)
    name = describe(asset_key)
    if not column:
        raise dg.Failure(
            description=(
                f"{name} is partitioned but has no '{PARTITION_EXPR}' metadata, so the warehouse "
                "cannot tell which rows a partition holds. Add metadata={'partition_expr': "
                "'<timestamp column>'} to the asset."
            ),
            allow_retries=False,
        )
    if not isinstance(context.asset_partitions_def, dg.TimeWindowPartitionsDefinition):
        raise dg.Failure(
            description=(
                f"{name}: the warehouse replaces partitions by time window and supports "
                "time-window (e.g. daily) partitions only."
            ),
            allow_retries=False,
        )
    return column, context.asset_partitions_time_window


def _check_rows_in_window(
    frame: pd.DataFrame,
    column: str,
    window: dg.TimeWindow,
    context: dg.OutputContext,
    asset_key: dg.AssetKey,
) -> None:
    """Every row must fall in the window: rows outside it would never be replaced."""
    stamps = partition_stamps(frame, column, context.asset_partitions_def.timezone, asset_key)
    # Two vectorised comparisons (NaT compares False, so it counts as outside); the lake's
    # partition_positions (IntervalIndex) takes seconds per million rows.
    inside = (stamps >= pd.Timestamp(window.start)) & (stamps < pd.Timestamp(window.end))
    outside = ~np.asarray(inside)
    if outside.any():
        days = distinct_days(stamps[outside])
        raise dg.Failure(
            description=(
                f"{describe(asset_key)}: {int(outside.sum())} rows have a '{column}' value "
                f"outside this run's partitions ({_window_text(context)}), on days "
                f"{first_keys(days)}. Nothing was written. Return only rows of the run's "
                "partitions."
            ),
            metadata={"offending_days": days[:100]},
            allow_retries=False,
        )


def _window_text(context: dg.OutputContext) -> str:
    keys: Sequence[str] = list(context.asset_partition_keys)
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"

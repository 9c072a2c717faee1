"""Publishing to the Postgres warehouse (prod profile only).

An asset output has one IO manager, so the lake copy of a gold mart (``gold/daily_sales``,
Parquet) and its warehouse copy are two assets: ``warehouse/daily_sales`` reads the mart from
the lake and returns it unchanged to `PostgresWarehouseIOManager`, which writes table
``gold.daily_sales`` (``warehouse_table`` metadata; a schema prefix goes before the schema).
Daily marts replace exactly the days of the run (DELETE window + COPY in one transaction);
whole-history marts are swapped in whole. Either way a re-run never duplicates rows.

The local profile defines none of this: `make run` needs no server.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from etl_assets.connectors.postgres import WAREHOUSE_RETRY_POLICY
from etl_assets.io.warehouse import TABLE_METADATA
from etl_assets.marts.spec import MartSpec
from etl_assets.resource_keys import WAREHOUSE_IO_MANAGER
from etl_assets.settings import Settings

WAREHOUSE_GROUP = "warehouse"
WAREHOUSE_POOL = "postgres"  # concurrency pool: limit parallel loads with `dagster instance`
WAREHOUSE_OWNERS = ["team:analytics"]


def publish_asset(
    source: dg.AssetKey,
    partition_column: str | None,
    partitions_def: dg.PartitionsDefinition | None,
    description: str,
) -> dg.AssetsDefinition:
    """``["warehouse", <name>]``: the asset ``source`` read from the lake, written to Postgres
    table ``<layer>.<name>``."""
    layer, name = source.path[0], source.path[-1]
    metadata: dict[str, str] = {TABLE_METADATA: f"{layer}.{name}"}
    if partition_column is not None:
        metadata["partition_expr"] = partition_column
    partitioned = partition_column is not None

    @dg.asset(
        key=[WAREHOUSE_GROUP, name],
        ins={"frame": dg.AssetIn(key=source)},
        group_name=WAREHOUSE_GROUP,
        description=description,
        owners=WAREHOUSE_OWNERS,
        kinds={"pandas", "postgres"},
        tags={"layer": "warehouse"},
        partitions_def=partitions_def if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        metadata=metadata,
        io_manager_key=WAREHOUSE_IO_MANAGER,
        retry_policy=WAREHOUSE_RETRY_POLICY,
        pool=WAREHOUSE_POOL,
    )
    def _publish(frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    return _publish


def build_warehouse_assets(
    settings: Settings, partitions_def: dg.PartitionsDefinition, marts: Sequence[MartSpec]
) -> list[dg.AssetsDefinition]:
    """The publish assets of the prod profile, one per mart (daily marts by partition,
    whole-history ones as a whole table); none in local."""
    if not settings.warehouse:
        return []
    assets = [
        publish_asset(
            dg.AssetKey(list(mart.asset)),
            mart.partition_column,
            partitions_def,
            f"gold/{mart.name} published to the Postgres warehouse (table gold.{mart.name}).",
        )
        for mart in marts
    ]
    if settings.warehouse_silver:
        assets.append(
            publish_asset(
                dg.AssetKey(["silver", "orders"]),
                "order_date",
                partitions_def,
                "silver/orders published to the Postgres warehouse (table silver.orders).",
            )
        )
    return assets

"""The Postgres warehouse: its IO manager and the metadata key that names an asset's table."""

from etl_assets.io.warehouse.io_manager import PostgresWarehouseIOManager
from etl_assets.io.warehouse.tables import TABLE_METADATA

__all__ = ["TABLE_METADATA", "PostgresWarehouseIOManager"]

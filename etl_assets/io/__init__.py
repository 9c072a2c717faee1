"""IO managers: where asset outputs are stored and read back from."""

from etl_assets.io.parquet_lake import (
    ALLOW_MISSING_PARTITIONS,
    MISSING_PARTITIONS_ATTR,
    PARTITION_EXPR,
    ParquetLakeIOManager,
    lake_path,
)

__all__ = [
    "ALLOW_MISSING_PARTITIONS",
    "MISSING_PARTITIONS_ATTR",
    "PARTITION_EXPR",
    "ParquetLakeIOManager",
    "lake_path",
]

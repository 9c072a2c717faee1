"""The Parquet lake: its IO manager and what asset definitions and tests use with it."""

from etl_assets.io.lake.checkpoints import Checkpoint, LakeCheckpoints, UnreadableCheckpoint
from etl_assets.io.lake.io_manager import (
    ALLOW_MISSING_ASSET,
    ALLOW_MISSING_PARTITIONS,
    MISSING_PARTITIONS_ATTR,
    ParquetLakeIOManager,
)
from etl_assets.io.lake.paths import lake_path

__all__ = [
    "ALLOW_MISSING_ASSET",
    "ALLOW_MISSING_PARTITIONS",
    "Checkpoint",
    "LakeCheckpoints",
    "MISSING_PARTITIONS_ATTR",
    "ParquetLakeIOManager",
    "UnreadableCheckpoint",
    "lake_path",
]

"""IO managers: where asset outputs are stored and read back from.

- ``lake/``: the Parquet lake (``ParquetLakeIOManager``), one file per asset or partition;
- ``warehouse/``: the Postgres warehouse (``PostgresWarehouseIOManager``), one table per asset;
- ``partitions.py``: what both managers share about partitioned outputs;
- ``daily_frames.py``: the ``DailyFrames`` / ``LakePartitions`` contract between range-run
  assets and the lake, a day at a time.
"""

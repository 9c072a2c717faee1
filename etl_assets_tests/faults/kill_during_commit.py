"""Run as a script: write generation 2 of an asset's files over generation 1 and die by
SIGKILL at the moment named by argv[2]: `staging` (after the first staged file) or
`renames` (after the second file is renamed into place)."""

import os
import signal
import sys

import pyarrow as pa
from upath import UPath

from etl_assets.io.lake import commit_log, writing
from etl_assets.io.lake.commit_log import AssetFiles, asset_write, commit_all

DAYS = [f"2024-01-0{n}" for n in range(1, 6)]


def table(generation: int, day: str) -> pa.Table:
    return pa.table({"day": [day] * 3, "generation": [generation] * 3})


def write(lake: str, generation: int) -> None:
    files = AssetFiles.of_asset(lake, "bronze/orders", partitioned=True)
    targets = [UPath(lake) / "bronze" / "orders" / f"{day}.parquet" for day in DAYS]
    with asset_write(files):
        staged = writing.stage_all([table(generation, day) for day in DAYS], targets)
        commit_all(files, staged)


def die_after(count: int, module, name: str) -> None:
    original = getattr(module, name)
    calls = []

    def dying(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(module, name, dying)


if __name__ == "__main__":
    lake, moment = sys.argv[1], sys.argv[2]
    if moment == "staging":
        die_after(1, writing, "stage")
    elif moment == "renames":
        die_after(3, commit_log.os, "replace")  # the journal, then two files
    write(lake, int(sys.argv[3]))

"""Content fingerprints of a lake and helpers to kill a process at a chosen moment."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from etl_assets.io.lake.checkpoints import CHECKPOINTS_DIR

# Lineage that differs between two runs of the same data by design.
RUN_SPECIFIC = ("_batch_id", "_ingested_at")


def lake_fingerprint(lake: Path) -> dict[str, str]:
    """{relative file: hash of its rows and columns}, run-specific lineage left out; also
    every other file below the lake (a staged file or backup left behind shows up)."""
    prints: dict[str, str] = {}
    for path in sorted(lake.rglob("*")):
        # locks, and the steps' checkpoints (their own state, not the lake's data)
        if not path.is_file() or {".locks", CHECKPOINTS_DIR} & set(path.parts):
            continue
        relative = path.relative_to(lake).as_posix()
        if path.suffix != ".parquet" or path.name.startswith("."):
            prints[relative] = "stray file"
            continue
        frame = pd.read_parquet(path)
        frame = frame.drop(columns=[c for c in RUN_SPECIFIC if c in frame.columns])
        digest = hashlib.sha256(",".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
        prints[relative] = digest.hexdigest()
    return prints


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid

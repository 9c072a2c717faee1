"""A step's own state kept in the lake between runs: a checkpoint, beside the assets.

Layout under the lake's ``base_path``::

    .checkpoints/<asset key path>/manifest.json          what the checkpoint holds, and its files
    .checkpoints/<asset key path>/<write id>/<name>.parquet

A checkpoint is written files first, in a directory of its own, then its manifest, replaced
in one rename: a crash leaves the previous checkpoint or the new one, never a mix. Saving
removes the directories of older checkpoints but the one the replaced manifest named, which
a run started before may still be reading. A checkpoint only saves work: one missing,
unreadable or half-removed is not used (`UnreadableCheckpoint` says why) and the step
recomputes what it held, so no checkpoint fails a run, and neither does a save that cannot be
written (it is logged).

The step decides whether a checkpoint is still valid from the `facts` it saved with it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pyarrow as pa
from filelock import FileLock
from upath import UPath

from etl_assets.io.lake.paths import SUFFIX, asset_directory, is_local
from etl_assets.io.lake.reading import read_file
from etl_assets.io.lake.writing import frame_to_table, fsync_directory, write_parquet

CHECKPOINTS_DIR = ".checkpoints"
MANIFEST = "manifest.json"
_FRAME, _ARROW = "frame", "arrow"  # how a table is handed back: pandas or Arrow

log = logging.getLogger(__name__)


class UnreadableCheckpoint(Exception):
    """A checkpoint is there but cannot be read whole (corrupt, half-removed, foreign)."""


@dataclass(frozen=True)
class Checkpoint:
    facts: dict  # what the step saved to judge the checkpoint later
    tables: dict[str, pd.DataFrame | pa.Table]  # each as it was saved: pandas or Arrow


class LakeCheckpoints:
    """The checkpoints of one lake, one per asset key (the step's output it belongs to)."""

    def __init__(self, base_path: str):
        self.base_path = base_path

    def directory(self, asset_key: dg.AssetKey) -> UPath:
        return asset_directory(UPath(self.base_path) / CHECKPOINTS_DIR, asset_key)

    def load(self, asset_key: dg.AssetKey) -> Checkpoint | None:
        """The asset's last checkpoint, None when it has none; UnreadableCheckpoint when it
        cannot be read whole."""
        directory = self.directory(asset_key)
        manifest_path = directory / MANIFEST
        try:
            if not manifest_path.exists():
                return None
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            tables = {}
            for name, entry in manifest["tables"].items():
                table = read_file(directory / entry["file"], asset_key, None)
                tables[name] = table.to_pandas() if entry["kind"] == _FRAME else table
            return Checkpoint(facts=manifest["facts"], tables=tables)
        except Exception as error:  # anything: a checkpoint only saves work
            raise UnreadableCheckpoint(f"{manifest_path}: {error}") from error

    def save(
        self,
        asset_key: dg.AssetKey,
        facts: Mapping[str, object],
        tables: Mapping[str, pd.DataFrame | pa.Table],
    ) -> bool:
        """Keep `tables` with `facts` as the asset's checkpoint; False (logged) if it could
        not be written, the previous one then still in place."""
        directory = self.directory(asset_key)
        write_id = uuid.uuid4().hex
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with self._lock(asset_key):
                previous = self._manifest_write_id(directory)
                entries = {}
                for index, (name, table) in enumerate(tables.items()):
                    file = f"{write_id}/{index}{SUFFIX}"
                    kind = _FRAME if isinstance(table, pd.DataFrame) else _ARROW
                    arrow = frame_to_table(table) if kind == _FRAME else table
                    _write(directory / file, lambda sink, arrow=arrow: write_parquet(arrow, sink))
                    entries[name] = {"file": file, "kind": kind}
                manifest = {"write_id": write_id, "facts": dict(facts), "tables": entries}
                _replace(directory / MANIFEST, json.dumps(manifest, default=str).encode())
                self._remove_others(directory, keep={write_id, previous})
            return True
        except (OSError, pa.ArrowException, ValueError, TypeError) as error:
            # a disk, or a partial result Arrow cannot hold: the run goes on without it
            log.warning(f"checkpoint of {asset_key.to_user_string()} not saved ({error})")
            _remove_tree(directory / write_id)
            return False

    def _lock(self, asset_key: dg.AssetKey):
        """Two saves of one checkpoint never interleave (local lakes; elsewhere a no-op)."""
        directory = self.directory(asset_key)
        if not is_local(directory):
            return contextlib.nullcontext()
        return FileLock(os.path.join(directory.path, ".lock"))

    @staticmethod
    def _manifest_write_id(directory: UPath) -> str | None:
        try:
            return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["write_id"]
        except (OSError, ValueError, KeyError):
            return None

    @staticmethod
    def _remove_others(directory: UPath, keep: set[str | None]) -> None:
        for child in directory.iterdir():
            if child.is_dir() and child.name not in keep:
                _remove_tree(child)


def _write(path: UPath, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_local(path):
        with open(path.path, "wb") as sink:
            write(sink)
            sink.flush()
            os.fsync(sink.fileno())  # on disk before the manifest names it
    else:
        with path.open("wb") as sink:
            write(sink)


def _replace(target: UPath, data: bytes) -> None:
    """Write `data` to `target` in one step: a temporary file renamed over it."""
    temporary = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    _write(temporary, lambda sink: sink.write(data))
    if is_local(target):
        os.replace(temporary.path, target.path)
        fsync_directory(target.parent.path)
    else:  # object stores: the object appears whole (copy, then delete)
        target.fs.mv(temporary.path, target.path)


def _remove_tree(path: UPath) -> None:
    try:
        if path.exists():
            path.fs.rm(path.path, recursive=True)
    except OSError:
        pass

"""All or nothing across the files of one write, also under kill -9: a commit log.

One output of a step may replace many files (a range run writes one file per day). Each
file is staged beside its target first (``writing.stage``); this module makes the renames
that expose them one atomic step, the way Delta Lake's commit log does:

1. each target that exists is hard-linked to a hidden backup (``.<name>.<id>.old``; a link,
   so no extra space);
2. a journal (``.<asset>.commit``) names every (staged file, target, backup), written to a
   temporary name, fsynced and renamed into place;
3. the staged files are renamed over their targets;
4. the journal is removed: that is the commit point; then the backups.

A crash before 4 leaves the journal. Whoever touches the asset next (a write, a read, or
``etl-assets run`` at its start) rolls it back: a target whose staged file is gone was
replaced, so its backup is renamed back (or, when it had none, the new file is removed); a
staged file still there was never exposed and is deleted. The lake then holds exactly what
the last successful write left, which is what Dagster recorded: the killed run never
reported a materialization. Staged files and backups left by a crash without a journal are
removed the same way.

Writers of one asset take a file lock (``<lake>/.locks/<asset>.lock``, ``filelock``, an
``fcntl`` lock the kernel releases when the process dies) for the whole write, so two runs
never interleave their files, and recovery never touches a write in progress.

Local lakes only: object stores have neither rename nor hard links. There each file still
appears whole (``writing.commit``), but a crash between two files is not rolled back.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from filelock import FileLock
from upath import UPath

from etl_assets.io.lake.paths import SUFFIX, asset_directory, is_local, lake_path
from etl_assets.io.lake.writing import StagedFile, commit, fsync_directory, no_space_failure

JOURNAL_SUFFIX = ".commit"
LOCK_SUFFIX = ".lock"
LOCKS_DIR = ".locks"
BACKUP_SUFFIX = ".old"
STAGED_SUFFIX = ".tmp"


@dataclass(frozen=True)
class AssetFiles:
    """Where one asset's files, lock and journal live.

    A partitioned asset owns its directory (``bronze/orders/<day>.parquet``): its lock and
    journal are ``.asset.lock``/``.asset.commit`` inside. An unpartitioned asset shares its
    directory with others (``gold/customer_rfm.parquet``): ``.customer_rfm.lock`` beside it.
    """

    base: str  # the lake's root
    directory: str
    name: str  # "asset" for a partitioned asset's own directory, else the file stem
    owns_directory: bool

    @classmethod
    def of_asset(cls, base_path: str, asset_key, partitioned: bool) -> AssetFiles:
        if partitioned:
            directory = asset_directory(base_path, asset_key).path
            return cls(UPath(base_path).path, directory, "asset", owns_directory=True)
        directory, file_name = os.path.split(lake_path(base_path, asset_key).path)
        stem = file_name.removesuffix(SUFFIX)
        return cls(UPath(base_path).path, directory, stem, owns_directory=False)

    @property
    def lock_path(self) -> str:
        """Outside the asset's folder (a lock file stays), mirrored under ``<lake>/.locks``."""
        folder = os.path.join(self.base, LOCKS_DIR, os.path.relpath(self.directory, self.base))
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{self.name}{LOCK_SUFFIX}")

    @property
    def asset_name(self) -> str:
        """The asset's key as the user writes it: bronze/orders, gold/customer_rfm."""
        folder = os.path.relpath(self.directory, self.base).replace(os.sep, "/")
        return folder if self.owns_directory else f"{folder}/{self.name}"

    @property
    def journal_path(self) -> str:
        return os.path.join(self.directory, f".{self.name}{JOURNAL_SUFFIX}")

    def is_leftover(self, file_name: str) -> bool:
        """A staged file or backup of this asset (never the lock or the journal)."""
        if not file_name.startswith(".") or not file_name.endswith((STAGED_SUFFIX, BACKUP_SUFFIX)):
            return False
        return self.owns_directory or file_name.startswith(f".{self.name}.")


@contextmanager
def asset_write(files: AssetFiles) -> Iterator[None]:
    """Hold the asset's write lock (waiting for another writer of it), after rolling back
    what a crashed writer left."""
    os.makedirs(files.directory, exist_ok=True)
    with FileLock(files.lock_path):
        recover(files)
        yield


def commit_all(files: AssetFiles | None, staged: Sequence[StagedFile]) -> None:
    """Rename every staged file over its target as one step (the protocol above). The
    caller holds the asset's lock (``asset_write``); `files` None: an object store."""
    if not staged:
        return
    if files is None or not all(is_local(file.target) for file in staged):
        for file in staged:
            commit(file)
        return
    write_id = uuid.uuid4().hex[:12]
    entries = []
    try:
        for file in staged:
            target = file.target.path
            backup = None
            if os.path.exists(target):
                backup = _backup_name(target, write_id)
                os.link(target, backup)
            entries.append({"staged": file.temporary.path, "target": target, "backup": backup})
        _write_journal(files, {"id": write_id, "files": entries})
    except OSError as error:
        _remove_backups(entries)
        raise no_space_failure(error, files.directory, 4096) from error
    for entry in entries:
        os.replace(entry["staged"], entry["target"])
    fsync_directory(files.directory)
    os.unlink(files.journal_path)  # the commit point
    fsync_directory(files.directory)
    _remove_backups(entries)


def recover(files: AssetFiles) -> bool:
    """Roll back an interrupted commit of this asset and remove its leftovers; True when a
    commit was rolled back. The caller holds the asset's lock."""
    rolled_back = False
    try:
        with open(files.journal_path, encoding="utf-8") as handle:
            journal = json.load(handle)
    except FileNotFoundError:
        journal = None
    except ValueError:
        journal = None  # a journal cut short was never complete: no rename happened
    if journal is not None:
        for entry in journal["files"]:
            if os.path.exists(entry["staged"]):
                continue  # never renamed: the target still holds the old file
            if entry["backup"] is not None:
                os.replace(entry["backup"], entry["target"])
            elif os.path.exists(entry["target"]):
                os.unlink(entry["target"])
        fsync_directory(files.directory)
        rolled_back = True
    if os.path.exists(files.journal_path):
        os.unlink(files.journal_path)
    for name in _names(files.directory):
        if files.is_leftover(name):
            _unlink_quietly(os.path.join(files.directory, name))
    return rolled_back


def needs_recovery(files: AssetFiles) -> bool:
    return os.path.exists(files.journal_path)


def recover_if_needed(files: AssetFiles) -> bool:
    """One stat on the read path: roll back a crashed commit before anyone reads the mix."""
    if not needs_recovery(files):
        return False
    with FileLock(files.lock_path):
        return recover(files)


def recover_lake(base_path: str) -> list[str]:
    """Roll back every interrupted commit below a local lake and remove what crashed
    writers staged; the assets rolled back. Each asset is recovered under its lock, so a
    write in progress is waited for, never undone."""
    rolled_back = []
    for files in _assets_to_recover(base_path):
        with FileLock(files.lock_path):
            if recover(files):
                rolled_back.append(files.asset_name)
    return rolled_back


def _assets_to_recover(base_path: str) -> list[AssetFiles]:
    found: dict[tuple[str, str], AssetFiles] = {}
    for directory, folders, names in os.walk(base_path):
        if LOCKS_DIR in folders:
            folders.remove(LOCKS_DIR)
        for name in names:
            if not name.startswith("."):
                continue
            if name.endswith(JOURNAL_SUFFIX):
                stem = name[1:].removesuffix(JOURNAL_SUFFIX)
            elif name.endswith((STAGED_SUFFIX, BACKUP_SUFFIX)):
                stem = name[1:].split(".", 1)[0]
            else:
                continue
            files = AssetFiles(base_path, directory, "asset", owns_directory=True)
            if stem != "asset" and not os.path.exists(files.lock_path):
                # An unpartitioned asset's leftover: `.<asset>.parquet.<id>.tmp`.
                files = AssetFiles(base_path, directory, stem, owns_directory=False)
            found[(files.directory, files.name)] = files
    return sorted(found.values(), key=lambda files: (files.directory, files.name))


def _write_journal(files: AssetFiles, journal: dict) -> None:
    temporary = os.path.join(files.directory, f".{files.name}.{journal['id']}{STAGED_SUFFIX}")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(journal, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, files.journal_path)
    fsync_directory(files.directory)


def _backup_name(target: str, write_id: str) -> str:
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name}.{write_id}{BACKUP_SUFFIX}")


def _remove_backups(entries: list[dict]) -> None:
    for entry in entries:
        if entry["backup"] is not None:
            _unlink_quietly(entry["backup"])


def _names(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

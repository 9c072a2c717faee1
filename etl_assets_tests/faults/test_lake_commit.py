"""kill -9 while a step writes the lake, a truncated lake file, and a full disk: the lake
holds the old files or the new ones, never a mix, and a plain re-write gives the new."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
from upath import UPath

from etl_assets.io.lake import writing
from etl_assets.io.lake.commit_log import AssetFiles, asset_write, commit_all, recover_lake
from etl_assets.io.lake.reading import read_frame
from etl_assets_tests.faults import kill_during_commit
from etl_assets_tests.faults.fingerprints import lake_fingerprint

SCRIPT = Path(kill_during_commit.__file__)


def _generation(lake: Path) -> dict[str, int]:
    folder = lake / "bronze" / "orders"
    return {
        path.stem: int(pd.read_parquet(path)["generation"].iloc[0])
        for path in sorted(folder.glob("*.parquet"))
    }


def _kill_while_writing(lake: Path, moment: str, generation: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(lake), moment, str(generation)], env=env, check=False
    )
    assert done.returncode == -signal.SIGKILL


@pytest.mark.parametrize("moment", ["staging", "renames"])
def test_kill_9_while_writing_leaves_the_old_files_then_a_rewrite_gives_the_new(tmp_path, moment):
    lake = tmp_path / "lake"
    kill_during_commit.write(str(lake), 1)
    old = lake_fingerprint(lake)
    kill_during_commit.write(str(tmp_path / "clean"), 2)
    new = lake_fingerprint(tmp_path / "clean")

    _kill_while_writing(lake, moment, 2)
    folder = lake / "bronze" / "orders"
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    assert leftovers  # staged files (and, during the renames, the journal and backups)
    if moment == "renames":
        assert ".asset.commit" in leftovers
        assert sorted(set(_generation(lake).values())) == [1, 2]  # the torn state on disk

    # Whoever comes next (a run's start, a read, a write) rolls back: all old, nothing else.
    assert recover_lake(str(lake)) == (["bronze/orders"] if moment == "renames" else [])
    assert lake_fingerprint(lake) == old
    kill_during_commit.write(str(lake), 2)  # the re-run
    assert lake_fingerprint(lake) == new


def test_the_next_write_removes_what_a_killed_writer_staged(tmp_path):
    lake = tmp_path / "lake"
    kill_during_commit.write(str(lake), 1)
    _kill_while_writing(lake, "staging", 2)
    assert any(p.name.endswith(".tmp") for p in (lake / "bronze" / "orders").iterdir())
    kill_during_commit.write(str(lake), 3)
    assert set(_generation(lake).values()) == {3}
    assert "stray file" not in lake_fingerprint(lake).values()


def test_a_truncated_lake_file_fails_clearly_and_a_rewrite_restores_it(tmp_path):
    lake = tmp_path / "lake"
    kill_during_commit.write(str(lake), 1)
    clean = lake_fingerprint(lake)
    victim = lake / "bronze" / "orders" / "2024-01-03.parquet"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with pytest.raises(dg.Failure) as failure:
        read_frame(UPath(victim), dg.AssetKey(["bronze", "orders"]))
    assert str(victim) in failure.value.description
    kill_during_commit.write(str(lake), 1)
    assert lake_fingerprint(lake) == clean


# ------------------------------------------------------------------------- disk full

BIG = pa.table({"payload": [os.urandom(256).hex() for _ in range(4_000)]})  # ~1.1 MB in Parquet


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB filesystem: a tmpfs when we may mount one (root), else a fake one that
    refuses writes past 1 MB."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() == 0 and shutil.which("mount"):
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=False
        )
        if mounted.returncode == 0:
            yield mount
            subprocess.run(["umount", str(mount)], check=True)
            return
    yield mount  # the fallback: patched below by the test through `fake_full`


def _is_tmpfs(path: Path) -> bool:
    return os.statvfs(path).f_blocks * os.statvfs(path).f_frsize <= 2_000_000


def test_disk_full_fails_once_naming_the_path_and_keeps_the_old_files(small_disk, monkeypatch):
    lake = small_disk / "lake"
    kill_during_commit.write(str(lake), 1)
    old = lake_fingerprint(lake)
    if not _is_tmpfs(small_disk):
        real = writing.write_parquet

        def full(table, sink):
            if table.nbytes > 1_000_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(table, sink)

        monkeypatch.setattr(writing, "write_parquet", full)

    files = AssetFiles.of_asset(str(lake), "bronze/orders", partitioned=True)
    targets = [UPath(lake) / "bronze" / "orders" / f"2024-01-0{n}.parquet" for n in (1, 2)]
    with pytest.raises(dg.Failure) as failure, asset_write(files):
        commit_all(files, writing.stage_all([BIG, BIG], targets))
    message = failure.value.description
    assert str(lake / "bronze" / "orders") in message and "MB free there" in message
    assert failure.value.allow_retries is False  # no RetryPolicy retries a full disk
    assert lake_fingerprint(lake) == old  # nothing torn, nothing staged left behind

    # Space freed (here: a smaller write needs less), the re-run succeeds.
    small = pa.table({"payload": ["x"] * 10})
    with asset_write(files):
        commit_all(files, writing.stage_all([small, small], targets))
    assert pd.read_parquet(targets[0].path)["payload"].tolist() == ["x"] * 10

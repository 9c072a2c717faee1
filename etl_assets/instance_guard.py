"""Many `etl-assets run` on one instance: created once, runs one at a time, none left STARTED.

- The instance (SQLite under DAGSTER_HOME) is opened, created and migrated under a file
  lock (`<DAGSTER_HOME>/.etl-assets-instance.lock`, the `filelock` package Dagster already
  depends on): two first runs on a new home no longer both stamp the schema (which left
  two alembic heads and an instance no run could open).
- Headless runs queue behind one another on a second lock (`.etl-assets-run.lock`), held
  for the whole run: two of them never interleave their writes; the second says whom it
  waits for. A run launched from the UI or by the daemon on the same instance that covers
  any of the days (or is not partitioned) makes the headless run fail at once, naming it.
- A run left STARTED by a process that died (kill -9, OOM, a closed laptop) is marked
  failed at the next `etl-assets run`, which says so. Headless runs carry the process that
  runs them in a tag (`etl_assets/process`: host, pid and the process's start time, so a
  reused pid is not mistaken for it); runs launched by `dagster dev` are recognised by
  the pid Dagster logs when it starts their process. Dagster's own run monitoring
  (dagster.yaml) fails runs stuck STARTING or CANCELING, and those over their
  `dagster/max_runtime`; the default run launcher cannot tell it that a worker died.
- Before the run, an interrupted lake commit is rolled back (io/lake/commit_log.py).

Why our own: Dagster's run queue and its concurrency pools apply to runs that the daemon
launches; `execute_in_process` (the headless run) bypasses both.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import dagster as dg
from filelock import FileLock, Timeout

from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.stable_read import unsettled
from etl_assets.io.lake.commit_log import recover_lake
from etl_assets.settings import Settings
from etl_assets.sources import load_sources

T = TypeVar("T")

INSTANCE_LOCK = ".etl-assets-instance.lock"
RUN_LOCK = ".etl-assets-run.lock"
RUN_HOLDER = ".etl-assets-run.holder"
PROCESS_TAG = "etl_assets/process"
_PID_EVENT = re.compile(r"Started process for run \(pid: (\d+)\)")
_IN_PROGRESS = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
_WAITING_OR_RUNNING = [*_IN_PROGRESS, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.CANCELING]


class RunConflict(RuntimeError):
    """Another run on the instance is writing days this run would write."""


def process_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this process is still alive."""
    return {PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"}


@contextmanager
def open_instance(home: Path, say=print) -> Iterator[dg.DagsterInstance]:
    """The instance at `home`, created and migrated under the instance lock, with the runs
    whose process died marked failed."""
    with FileLock(str(home / INSTANCE_LOCK)):
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            # Dagster creates and stamps the SQLite storages as it opens them, above.
            for run_id, why in fail_dead_runs(instance):
                say(f"etl-assets run: marked run {run_id} FAILURE: {why}", file=sys.stderr)
        except BaseException:
            instance.dispose()
            raise
    with instance:
        yield instance


@contextmanager
def one_run_at_a_time(home: Path, say=print) -> Iterator[None]:
    """Hold the headless-run lock; wait (saying for whom) while another run holds it."""
    lock = FileLock(str(home / RUN_LOCK))
    holder = home / RUN_HOLDER
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = holder.read_text() if holder.exists() else "another etl-assets run"
        say(f"etl-assets run: waiting for {who} to finish (same DAGSTER_HOME)", file=sys.stderr)
        lock.acquire()
    try:
        holder.write_text(f"etl-assets run (pid {os.getpid()})")
        yield
    finally:
        lock.release()


def refuse_overlapping_runs(instance: dg.DagsterInstance, days: list[str]) -> None:
    """Fail fast when a run launched elsewhere (UI, daemon, sensor) on this instance writes
    any of `days` (or is unpartitioned, or this run is)."""
    for record in instance.get_run_records(dg.RunsFilter(statuses=_WAITING_OR_RUNNING)):
        run = record.dagster_run
        covered = _days_of(run)
        if days and covered is not None and not (set(days) & covered):
            continue
        what = f"days {min(covered)} .. {max(covered)}" if covered else "every asset"
        raise RunConflict(
            f"run {run.run_id} ({run.job_name}, {run.status.value}) is writing {what} on this "
            "instance; two runs never write the same partitions at once. Wait for it to "
            "finish, or cancel it in the UI, then run again."
        )


def fail_dead_runs(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """Mark failed the in-progress runs whose process is gone; (run id, why) of each."""
    marked = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=_IN_PROGRESS)):
        run = record.dagster_run
        why = _why_dead(instance, run)
        if why is None:
            continue
        instance.report_run_failed(run, f"The process running this run is gone: {why}.")
        marked.append((run.run_id, why))
    return marked


def recover(lake_dir: str, say=print) -> None:
    for asset in recover_lake(lake_dir):
        say(
            f"etl-assets run: rolled back an interrupted write of {asset} in the lake "
            "(a run died while renaming its files); it holds its previous files again",
            file=sys.stderr,
        )


def _why_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    tag = run.tags.get(PROCESS_TAG)
    if tag:
        host, pid, started = tag.rsplit(":", 2)
        if host != socket.gethostname():
            return None  # another machine's process: cannot tell
        if _alive(int(pid), started):
            return None
        return f"etl-assets run (pid {pid}) on {host} exited without finishing it"
    pid = _launched_pid(instance, run.run_id)
    if pid is None or _alive(pid, None):
        return None
    return f"its run worker (pid {pid}) exited without finishing it"


def _launched_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid Dagster logged when it started the run's process (local launches only)."""
    if not instance.is_persistent or "sqlite" not in type(instance.run_storage).__name__.lower():
        return None  # a shared database: the run may live on another machine
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        match = _PID_EVENT.search((event.message if event else None) or "")
        if match:
            return int(match.group(1))
    return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started is None or _started(pid) == started


def _started(pid: int) -> str:
    """When a process started (clock ticks since boot, Linux); '' where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _days_of(run: dg.DagsterRun) -> set[str] | None:
    """The days a run writes, from its partition tags; None when it has none."""
    tags = run.tags
    single = tags.get("dagster/partition")
    if single:
        return {single}
    first = tags.get("dagster/asset_partition_range_start")
    last = tags.get("dagster/asset_partition_range_end")
    if first and last:
        return _day_span(first, last)
    return None


def _day_span(first: str, last: str) -> set[str]:
    import datetime as dt

    start, end = dt.date.fromisoformat(first[:10]), dt.date.fromisoformat(last[:10])
    return {(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)}


class LandingNotReady(RuntimeError):
    """A landing file the run needs is still being written."""


def refuse_unsettled(settings: Settings, days: list[str]) -> None:
    """The landing sensor's rule, for a headless run: a needed file that is empty or changes
    between two looks is still being written, and the run does not start."""
    landing = LandingFiles(base_dir=str(settings.landing_dir))
    specs = load_sources(settings.sources_dir, urls=settings.source_urls).values()
    needed = [
        landing.path_for(spec.path, day)
        for spec in specs
        if spec.connector == "files" and spec.path
        for day in (days if spec.is_daily else [None])
    ]
    busy = unsettled(str(settings.landing_dir), needed)
    if busy:
        listed = "; ".join(f"{path}: {why}" for path, why in sorted(busy.items())[:5])
        raise LandingNotReady(
            f"{len(busy)} landing file(s) under {settings.landing_dir} are still being "
            f"written ({listed}). Re-run when the upload has finished."
        )


def guarded_run(home: Path, settings: Settings, days: list[str], run: Callable[..., T]) -> T:
    """`run(instance)` as `etl-assets run` does it: one headless run at a time on `home`,
    dead runs marked failed, an interrupted lake commit rolled back, runs launched elsewhere
    on the same days refused, and no landing file still being written."""
    with one_run_at_a_time(home), open_instance(home) as instance:
        if "://" not in settings.lake_url or settings.lake_url.startswith("file://"):
            recover(settings.lake_url.removeprefix("file://"))
        refuse_overlapping_runs(instance, days)
        refuse_unsettled(settings, days)
        return run(instance)

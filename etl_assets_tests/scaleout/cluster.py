"""A scale-out deployment on this machine, for the Celery test and the executor benchmark.

What a team runs on several machines, here on one, each part a real process:

- the Dagster instance: `deploy/celery/dagster.yaml` as shipped (runs, events and the run
  queue in PostgreSQL), in a DAGSTER_HOME of its own, on a database made for the cluster;
- Celery workers started with the documented command (`executors.worker_command`), on a
  queue named for this cluster only, so nothing else on the broker sees its tasks;
- `dagster-daemon run` (backfills, run queue, run monitoring and retries), which launches
  each run in a process of its own from the code location's code server;
- a backfill, stored in the instance as the UI's "Materialize" of a day range stores it.

Everything it starts is stopped by `close()`, and the broker queue it used is deleted.
The services are the ones CI has: RabbitMQ (ETL_TEST_CELERY_BROKER_URL, default
pyamqp://guest@127.0.0.1:5672//), Redis (ETL_TEST_REDIS_URL, default redis://127.0.0.1:6379)
and PostgreSQL (etl_assets_tests.postgres_fixtures). A test skips without them on a
workstation and fails when CI=true.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

from etl_assets.automation.executors import worker_environment
from etl_assets.automation.workers import Worker, WorkerPool
from etl_assets.io.lake.checkpoints import CHECKPOINTS_DIR
from etl_assets.settings import Settings, load_settings
from etl_assets_tests.postgres_fixtures import TemporaryDatabase, in_ci

REPO = Path(__file__).resolve().parents[2]
CELERY_INSTANCE_CONFIG = REPO / "deploy" / "celery" / "dagster.yaml"
BROKER_VARIABLE = "ETL_TEST_CELERY_BROKER_URL"
REDIS_VARIABLE = "ETL_TEST_REDIS_URL"
DEFAULT_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
# Columns that differ between two runs by design: the run that ingested a row, and when.
RUN_COLUMNS = ("_batch_id", "_ingested_at")
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


class ClusterError(RuntimeError):
    """A part of the cluster did not start, died, or a backfill did not finish in time."""


# ---------------------------------------------------------------------------- services


def broker_url() -> str:
    return os.environ.get(BROKER_VARIABLE) or DEFAULT_BROKER


def redis_url() -> str:
    return os.environ.get(REDIS_VARIABLE) or DEFAULT_REDIS


def unavailable(what: str, url: str, error: BaseException, variable: str) -> None:
    """Skip (workstation) or fail (CI=true) a test whose service does not answer."""
    import pytest

    reason = f"{what} at {url.split('@')[-1]} is unreachable: {error}"
    if in_ci():
        pytest.fail(
            f"{reason}\nCI=true: the scale-out tests must run. Start it or set {variable}.",
            pytrace=False,
        )
    pytest.skip(f"{reason} (start it, or set {variable})")


def check_broker(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=3) as connection:
        connection.ensure_connection(max_retries=1, timeout=3)


def check_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=3).ping()


@contextmanager
def claimed_redis_db(base_url: str, claim_key: str = "etl_assets_test:claim") -> Iterator[str]:
    """The URL of a Redis database that holds nothing but this claim, emptied afterwards.

    Databases 15 down to 1 are tried; one is taken by setting the claim key where it is
    absent (atomic), and only kept if nothing else is stored there."""
    import redis

    token = uuid.uuid4().hex
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base_url.rstrip('/')}/{db}", socket_connect_timeout=3)
        if not client.set(claim_key, token, nx=True, ex=3600):
            continue
        if client.dbsize() != 1:  # someone else's data: leave it alone
            client.delete(claim_key)
            continue
        try:
            yield f"{base_url.rstrip('/')}/{db}"
        finally:
            if client.get(claim_key) == token.encode():
                client.flushdb()
        return
    raise ClusterError(f"no empty Redis database to claim at {base_url} (tried 15..1)")


def delete_queue(url: str, queue: str) -> None:
    """Deletes the cluster's queue and its exchange from the broker (what is left in it too)."""
    from kombu import Connection

    with Connection(url, connect_timeout=5) as connection:
        channel = connection.channel()
        for delete in (channel.queue_delete, channel.exchange_delete):
            try:
                delete(queue)
            except Exception:  # already gone, or never declared
                channel = connection.channel()


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` for the body; restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ----------------------------------------------------------------------------- cluster


@dataclass
class Cluster:
    """Instance, workers and daemon for one code-location profile (`executor`)."""

    root: Path
    data_dir: Path
    database: TemporaryDatabase
    executor: str = "celery"
    broker: str = field(default_factory=broker_url)
    backend: str = "rpc://"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    queue: str = field(default_factory=lambda: f"etl_test_{uuid.uuid4().hex[:10]}")
    daemon: subprocess.Popen | None = None
    pool: WorkerPool | None = None
    _instance: dg.DagsterInstance | None = None

    def __post_init__(self) -> None:
        self.home = self.root / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(CELERY_INSTANCE_CONFIG, self.home / "dagster.yaml")
        self.instance_env = {
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_PG_HOST": self.database.host,
            "DAGSTER_PG_PORT": str(self.database.port),
            "DAGSTER_PG_USER": self.database.user,
            # An empty variable counts as unset for Dagster; trust auth ignores it.
            "DAGSTER_PG_PASSWORD": self.database.password or "unused",
            "DAGSTER_PG_DB": self.database.name,
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
        self.env = {
            **base,
            **self.instance_env,
            "ETL_EXECUTOR": self.executor,
            "ETL_DATA_DIR": str(self.data_dir),
            "ETL_CELERY_QUEUE": self.queue,
            "ETL_CELERY_BROKER_URL": self.broker,
            "ETL_CELERY_BACKEND_URL": self.backend,
            "ETL_TEST_DAEMON_INTERVAL": "2",
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",
            **self.extra_env,
        }
        self.settings: Settings = load_settings(self.env)
        self.pool = WorkerPool(
            settings=self.settings, environ=worker_environment(self.settings, self.env), cwd=REPO
        )

    # ----------------------------------------------------------------- lifecycle

    def start_worker(
        self, name: str, *, includes: Sequence[str] = (), extra_env: Mapping[str, str] | None = None
    ) -> Worker:
        return self.pool.start(
            name, log_path=self.root / f"worker-{name}.log", includes=includes, extra_env=extra_env
        )

    def wait_workers(self, timeout: float = 180) -> None:
        self.pool.wait_ready(timeout=timeout)

    def start_daemon(self) -> None:
        log = (self.root / "daemon.log").open("ab")
        try:
            self.daemon = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "etl_assets_tests.scaleout.fast_daemon",
                    "run",
                    "-w",
                    str(REPO / "workspace.yaml"),
                ],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the daemon and its code server stop as one group
            )
        finally:
            log.close()

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            with environ(self.instance_env):
                self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    def close(self) -> None:
        """Stops the daemon (and its code server and runs), the workers; deletes the queue."""
        if self.daemon is not None:
            _stop_group(self.daemon, grace=20)
            self.daemon = None
        if self.pool is not None:
            self.pool.stop(grace=10)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        if self.executor == "celery":
            delete_queue(self.broker, self.queue)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- backfills

    def launch_backfill(self, days: Sequence[str], title: str = "scale-out test") -> str:
        """Stores an asset backfill of every asset over `days` (undated ones once)."""
        from dagster._core.execution.backfill import PartitionBackfill
        from dagster._core.utils import make_new_backfill_id

        from etl_assets.definitions import build_definitions

        graph = build_definitions(self.settings).resolve_asset_graph()
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id=make_new_backfill_id(),
            asset_graph=graph,
            partition_names=list(days),
            asset_selection=sorted(graph.materializable_asset_keys),
            backfill_timestamp=time.time(),
            tags={"etl/launched_by": "scale-out-test"},
            dynamic_partitions_store=self.instance,
            all_partitions=False,
            title=title,
            description=None,
            run_config=None,
        )
        self.instance.add_backfill(backfill)
        return backfill.backfill_id

    def backfill_status(self, backfill_id: str) -> str:
        return self.instance.get_backfill(backfill_id).status.value

    def wait_backfill(self, backfill_id: str, timeout: float, every: float = 1.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.backfill_status(backfill_id)
            if status in FINISHED:
                return status
            if self.daemon is not None and self.daemon.poll() is not None:
                raise ClusterError(f"the daemon exited:\n{self.log_tail('daemon.log')}")
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"backfill {backfill_id} still {status} after {timeout:.0f} s; runs: "
                    f"{self.run_statuses(backfill_id)}\n{self.log_tail('daemon.log')}"
                )
            time.sleep(every)

    def runs(self, backfill_id: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id})))

    def run_statuses(self, backfill_id: str) -> dict[str, str]:
        return {run.run_id[:8]: run.status.value for run in self.runs(backfill_id)}

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / name
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop_group(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever is left of it."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.2)
        if not _group_alive(process.pid):
            break
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group of zombies only (reaped by their parent soon) counts as gone.
    return any(_state(pid) not in ("Z", "") for pid in _group_pids(pgid))


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


# --------------------------------------------------------------------- the event log


@dataclass(frozen=True)
class StepExecution:
    """One step of one run: the Celery workers that started it, in order, and its end."""

    run_id: str
    step_key: str
    workers: tuple[str, ...]
    succeeded: bool

    @property
    def worker(self) -> str | None:
        """The worker that ran it to its end (the last one to start it)."""
        return self.workers[-1] if self.workers else None


def celery_steps(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> list[StepExecution]:
    """Every step of the runs, with the workers named by dagster-celery's engine events
    ("Executing steps ... in celery worker", metadata "Celery worker")."""
    executions = []
    for run_id in run_ids:
        workers: dict[str, list[str]] = collections.defaultdict(list)
        succeeded: set[str] = set()
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "ENGINE_EVENT":
                worker = event.engine_event_data.metadata.get("Celery worker")
                if worker is not None:
                    workers[event.step_key].append(str(worker.value))
            elif event.event_type_value == "STEP_SUCCESS":
                succeeded.add(event.step_key)
        for step in sorted(set(workers) | succeeded):
            executions.append(
                StepExecution(run_id, step, tuple(workers.get(step, ())), step in succeeded)
            )
    return executions


def materializations(
    instance: dg.DagsterInstance, run_ids: Iterable[str]
) -> collections.Counter[tuple[str, str | None]]:
    """How many times each (asset, partition) was materialized by the runs."""
    counts: collections.Counter[tuple[str, str | None]] = collections.Counter()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            event = entry.dagster_event
            counts[(event.asset_key.to_user_string(), event.partition)] += 1
    return counts


def failures(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> list[str]:
    """The messages of every failed step and run, for an assertion's explanation."""
    messages = []
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is not None and event.event_type_value in ("STEP_FAILURE", "PIPELINE_FAILURE"):
                error = getattr(event.event_specific_data, "error", None)
                details = []
                while error is not None:  # the error and its causes, one line each
                    details.append(error.message.strip().splitlines()[0] if error.message else "")
                    error = error.cause
                detail = " <- ".join(d for d in details if d)
                messages.append(
                    f"{run_id[:8]} {event.step_key or 'run'}: {detail or entry.message}"
                )
    return messages


# ----------------------------------------------------------------------------- the lake


def lake_files(lake: Path) -> list[Path]:
    """The lake's data files (not the folds' checkpoints: their own state)."""
    files = (path.relative_to(lake) for path in lake.rglob("*.parquet"))
    return sorted(path for path in files if path.parts[0] != CHECKPOINTS_DIR)


def lake_differences(lake: Path, reference: Path, ignore: Sequence[str] = RUN_COLUMNS) -> list[str]:
    """What differs between two lakes: files present in one only, and frames that differ
    once the per-run columns are set aside. Empty when they hold the same data."""
    ours, theirs = lake_files(lake), lake_files(reference)
    differences = [f"only in {lake}: {p}" for p in sorted(set(ours) - set(theirs))]
    differences += [f"only in {reference}: {p}" for p in sorted(set(theirs) - set(ours))]
    for relative in sorted(set(ours) & set(theirs)):
        left, right = pd.read_parquet(lake / relative), pd.read_parquet(reference / relative)
        left = left.drop(columns=[c for c in ignore if c in left.columns])
        right = right.drop(columns=[c for c in ignore if c in right.columns])
        try:
            pd.testing.assert_frame_equal(left, right)
        except AssertionError as error:
            differences.append(f"{relative}: {str(error).splitlines()[0]}")
    return differences


def reference_run(data_dir: Path, lake: Path, days: Sequence[str]) -> bool:
    """The same days in this process with the default profile (in process, one run), from
    the same landing files into another lake; True when the run succeeded."""
    from etl_assets.definitions import build_definitions
    from etl_assets.runner import run_pipeline

    settings = load_settings({"ETL_DATA_DIR": str(data_dir), "ETL_LAKE_URL": str(lake)})
    with dg.DagsterInstance.ephemeral() as instance:
        summary = run_pipeline(
            build_definitions(settings), settings, instance, days=list(days), log_level="ERROR"
        )
    return summary.success

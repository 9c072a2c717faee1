"""Execution profiles: how a run executes its steps, and how a backfill splits into runs.

`ETL_EXECUTOR` picks one; nothing else in the code location changes with it.

| profile | steps run | a backfill of N days is |
|---|---|---|
| `in_process` (default) | in the run's process, one after another | one run (single-run policy) |
| `multiprocess` | in a process each, on the run's machine | one run (single-run policy) |
| `celery` | as Celery tasks on workers (`dagster-celery`) | N runs, one day each |
| `k8s` | as Kubernetes Jobs (`dagster-k8s`'s `k8s_job_executor`) | N runs, one day each |

Under `celery` and `k8s` every daily asset gets a multi-run backfill policy of one day per
run (ETL_BACKFILL_DAYS_PER_RUN): the days of a backfill are independent runs, so their steps
spread over every worker (or pod) at once; the undated marts that read every day (RFM,
products, cohorts) are asked for once, after all of those days, by Dagster's asset backfill.
In process a range stays one run, which imports the code location and the quality suites
once (see `build.py`).

The Celery settings below are shared by the executor (the run side) and the workers
(`deploy/celery/worker.yaml`, started with `worker_command`): a task is acknowledged only
once its step has run, so a worker lost mid-step gives the step back to the broker, and
another worker runs it (Celery redelivery).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from etl_assets.settings import (
    CELERY_BACKEND_VARIABLE,
    CELERY_BROKER_VARIABLE,
    Settings,
    SettingsError,
)

DEFAULT_CELERY_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_CELERY_BACKEND = "rpc://"
DISTRIBUTED = ("celery", "k8s")

# The Celery app settings of the executor and of every worker (deploy/celery/worker.yaml
# holds the same; a test keeps them equal). dagster-celery defaults to acknowledging a task
# when a worker takes it, which loses the step if that worker dies.
CELERY_APP_SETTINGS: Mapping[str, object] = {
    # Acknowledge after the step ran: a worker lost mid-step leaves the task unacknowledged
    # and the broker hands it to another worker.
    "task_acks_late": True,
    # The same when only the pool process dies (killed for memory): requeue, never fail.
    "task_reject_on_worker_lost": True,
    # A worker takes one task at a time: the rest stay in the queue for idle workers.
    "worker_prefetch_multiplier": 1,
    # A worker that loses the broker stops its running acks-late tasks, which the broker
    # redelivers, rather than finishing them twice.
    "worker_cancel_long_running_tasks_on_connection_loss": True,
    "broker_connection_retry_on_startup": True,
}

# The worker's config file, beside this repository's deploy/ (the Docker image copies it too).
WORKER_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "celery" / "worker.yaml"
CELERY_APP = "dagster_celery.app"


def is_distributed(settings: Settings) -> bool:
    return settings.executor in DISTRIBUTED


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The executor of every job in the code location, for ETL_EXECUTOR."""
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_executor_config(settings), name="celery")
    if settings.executor == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as error:  # an optional extra: the image installs it
            raise SettingsError(
                "ETL_EXECUTOR=k8s needs dagster-k8s: pip install '.[k8s]' (the Dockerfile in "
                "deploy/ does)"
            ) from error
        # Image, namespace, secrets and env come from the K8sRunLauncher of the Helm chart.
        return k8s_job_executor
    # A process per step would import dagster, pandas and the code location (3-5 s) for
    # steps that mostly take under a second, on two cores that two runs already share.
    return dg.in_process_executor


def celery_executor_config(settings: Settings) -> dict[str, object]:
    """The `celery_executor` config: broker and backend from the environment (secrets),
    steps to ETL_CELERY_QUEUE, and the shared Celery settings."""
    broker = (
        {"env": CELERY_BROKER_VARIABLE}
        if settings.celery_broker_from_env
        else DEFAULT_CELERY_BROKER
    )
    backend = (
        {"env": CELERY_BACKEND_VARIABLE}
        if settings.celery_backend_from_env
        else DEFAULT_CELERY_BACKEND
    )
    return {
        "broker": broker,
        "backend": backend,
        "config_source": {**CELERY_APP_SETTINGS, "task_default_queue": settings.celery_queue},
    }


def daily_backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    """The backfill policy of a day-partitioned asset under this profile."""
    if is_distributed(settings):
        return dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_days_per_run)
    return dg.BackfillPolicy.single_run()


def with_backfill_policies(
    assets: Sequence[dg.AssetsDefinition], settings: Settings
) -> list[dg.AssetsDefinition]:
    """The assets, every day-partitioned one with the profile's backfill policy.

    The asset builders declare single-run; only the distributed profiles change it, so the
    default profile's assets are returned as they are.
    """
    if not is_distributed(settings):
        return list(assets)
    policy = daily_backfill_policy(settings)
    return [
        asset.with_attributes(backfill_policy=policy)
        if asset.partitions_def is not None and asset.is_executable
        else asset
        for asset in assets
    ]


# ------------------------------------------------------------------------------ workers


def worker_environment(settings: Settings, environ: Mapping[str, str] | None = None) -> dict:
    """The environment of a Celery worker: this one, with ETL_EXECUTOR=celery and the broker
    and backend variables the worker config reads set to their defaults when unset."""
    env = dict(os.environ if environ is None else environ)
    env["ETL_EXECUTOR"] = "celery"
    env.setdefault(CELERY_BROKER_VARIABLE, DEFAULT_CELERY_BROKER)
    env.setdefault(CELERY_BACKEND_VARIABLE, DEFAULT_CELERY_BACKEND)
    env.setdefault("ETL_CELERY_QUEUE", settings.celery_queue)
    # `dagster-celery worker start` runs `celery` from PATH: this interpreter's comes first.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


def worker_command(
    settings: Settings,
    name: str,
    *,
    concurrency: int = 1,
    config: Path = WORKER_CONFIG,
    loglevel: str = "INFO",
    includes: Sequence[str] = (),
) -> list[str]:
    """The documented command that starts one worker (docs/scale-out.md):

        dagster-celery worker start -A dagster_celery.app -y deploy/celery/worker.yaml \\
            -q etl_assets -n worker1 -- --concurrency 1

    `concurrency` is the number of steps the worker runs at once (one process each)."""
    executable = shutil.which("dagster-celery", path=str(Path(sys.executable).parent))
    command = [
        executable or "dagster-celery",
        "worker",
        "start",
        "-A",
        CELERY_APP,
        "-y",
        str(config),
        "-q",
        settings.celery_queue,
        "-n",
        name,
        "-l",
        loglevel,
    ]
    for module in includes:
        command += ["-i", module]
    return [*command, "--", f"--concurrency={concurrency}", "--without-mingle"]

"""Celery workers on this machine as a pool: started with the documented command
(`executors.worker_command`), each in its own process group, pinged through the broker until
ready, and stopped with a warm shutdown, then SIGKILL. Used by `etl-assets workers` (a local
trial of ETL_EXECUTOR=celery, `make workers`) and by the scale-out tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from etl_assets.automation.executors import (
    DEFAULT_CELERY_BACKEND,
    DEFAULT_CELERY_BROKER,
    worker_command,
    worker_environment,
)
from etl_assets.settings import (
    CELERY_BACKEND_VARIABLE,
    CELERY_BROKER_VARIABLE,
    Settings,
)


class WorkerError(RuntimeError):
    """A worker did not start, or died."""


def node_name(name: str) -> str:
    """The Celery node name of a worker started with `-n name` (`name@hostname`)."""
    return f"{name}@{socket.gethostname()}"


def celery_client(environ: Mapping[str, str]):
    """A Celery app on the workers' broker, to ping and inspect them."""
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    executor = CeleryExecutor.for_cli(
        broker=environ.get(CELERY_BROKER_VARIABLE) or DEFAULT_CELERY_BROKER,
        backend=environ.get(CELERY_BACKEND_VARIABLE) or DEFAULT_CELERY_BACKEND,
    )
    return make_app(executor.app_args())


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log_path: Path | None = None

    @property
    def node(self) -> str:
        return node_name(self.name)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Signal the worker's whole process group: `dagster-celery`, `celery` and its pool."""
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass


@dataclass
class WorkerPool:
    """Workers started by this process; `stop()` ends every process they started."""

    settings: Settings
    environ: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    cwd: Path | None = None
    instance_ready: bool = False

    def start(
        self,
        name: str,
        *,
        concurrency: int = 1,
        log_path: Path | None = None,
        includes: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> Worker:
        self.prepare_instance()
        command = worker_command(self.settings, name, concurrency=concurrency, includes=includes)
        output = log_path.open("ab") if log_path else None
        try:
            process = subprocess.Popen(
                command,
                env={**self.environ, **(extra_env or {})},
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,  # its own process group: stopped as one
            )
        finally:
            if output:
                output.close()
        worker = Worker(name=name, process=process, log_path=log_path)
        self.workers.append(worker)
        return worker

    def prepare_instance(self, timeout: float = 120.0) -> None:
        """Creates or migrates the Dagster instance's storage once, before any worker starts:
        workers started together on a fresh database would each create its tables, and all
        but one would die of a duplicate table. Under the lock `etl-assets run` opens the
        instance with (instance_guard.py), in the workers' environment (a subprocess: the
        instance's config may read variables this process does not have)."""
        if self.instance_ready:
            return
        from etl_assets.instance_guard import INSTANCE_LOCK  # dagster and the lake: at use

        home = Path(self.environ.get("DAGSTER_HOME") or ".")
        command = [sys.executable, "-m", "dagster", "instance", "migrate"]
        with FileLock(str(home / INSTANCE_LOCK)):
            try:
                done = subprocess.run(
                    command,
                    env=self.environ,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise WorkerError(
                    f"could not prepare the Dagster instance under {home}: `dagster instance "
                    f"migrate` did not finish within {timeout:.0f} s (is its database reachable?)"
                ) from None
        if done.returncode != 0:
            raise WorkerError(
                f"could not prepare the Dagster instance under {self.environ.get('DAGSTER_HOME')}"
                f" (`dagster instance migrate` exited {done.returncode}):\n"
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )
        self.instance_ready = True

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every worker answers a ping through the broker; raises if one dies first."""
        app = celery_client(self.environ)
        waiting = {worker.node: worker for worker in self.workers}
        deadline = time.monotonic() + timeout
        while waiting:
            for worker in waiting.values():
                if not worker.alive():
                    raise WorkerError(
                        f"worker {worker.name} exited with status {worker.process.returncode}"
                        + (f"; its log: {worker.log_path}" if worker.log_path else "")
                    )
            replies = app.control.ping(destination=list(waiting), timeout=1.0) or []
            for reply in replies:
                for node in reply:
                    waiting.pop(node, None)
            if waiting and time.monotonic() > deadline:
                raise WorkerError(
                    f"worker(s) {', '.join(sorted(waiting))} did not answer within {timeout:.0f} s"
                )

    def kill(self, worker: Worker) -> None:
        """SIGKILL a worker's process group at once: a machine lost, no warm shutdown."""
        worker.signal_group(signal.SIGKILL)
        worker.process.wait(timeout=30)

    def stop(self, grace: float = 30.0) -> None:
        """Warm shutdown (SIGTERM) of every worker, then SIGKILL to what is left."""
        for worker in self.workers:
            if worker.alive():
                worker.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for worker in self.workers:
            # The group too: a pool process may outlive its parent by a moment.
            worker.signal_group(signal.SIGKILL)
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def make_pool(settings: Settings, environ: Mapping[str, str] | None = None) -> WorkerPool:
    env = worker_environment(settings, environ)
    # `dagster-celery worker start` writes the worker's Celery config under DAGSTER_HOME.
    home = Path(env.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    return WorkerPool(settings=settings, environ=env)

"""Concurrent headless runs on a new instance, a run killed mid-write, dead runs: the
instance stays usable, no run stays STARTED, and a plain re-run restores the exact lake."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.instance_guard import PROCESS_TAG, fail_dead_runs, open_instance
from etl_assets_tests.faults import run_and_die
from etl_assets_tests.faults.fingerprints import dead_pid, lake_fingerprint

PROJECT = Path(__file__).resolve().parents[2]


def _env(data: Path, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *sys.path]),
        "ETL_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        "PYTHONWARNINGS": "ignore",
    }


def _cli(data: Path, home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from etl_assets.cli import main; "
         "sys.exit(main(['run', '--log-level', 'ERROR']))", *args],
        env=_env(data, home), cwd=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _statuses(home: Path) -> list[dg.DagsterRunStatus]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [run.status for run in instance.get_runs()]


@pytest.fixture(scope="module")
def tiny_sample(sample_of) -> Path:
    return sample_of(days=2, rows_per_day=150, seed=5)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_sample) -> dict[str, str]:
    """Two `etl-assets run` started together on a new DAGSTER_HOME: both succeed (the second
    waits for the first), the instance opens afterwards; the lake they leave is the
    reference of a clean run."""
    data = tmp_path_factory.mktemp("concurrent")
    shutil.copytree(tiny_sample / "landing", data / "landing")
    home = data / "home"  # new: neither run finds an instance
    runs = [_cli(data, home), _cli(data, home)]
    outcomes = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert sum("waiting for" in err for _, err in outcomes) == 1
    assert _statuses(home) == [dg.DagsterRunStatus.SUCCESS] * 2
    return lake_fingerprint(data / "lake")


def test_concurrent_runs_on_a_new_instance_leave_it_usable(reference):
    assert any(name.startswith("gold/daily_sales/") for name in reference)
    assert "stray file" not in reference.values()


def test_kill_9_during_the_renames_then_a_plain_rerun_restores_the_clean_lake(
    tmp_path, tiny_sample, reference
):
    data = tmp_path
    shutil.copytree(tiny_sample / "landing", data / "landing")
    home = data / "home"
    killed = subprocess.run(
        [sys.executable, run_and_die.__file__, "silver/orders"],
        env=_env(data, home), cwd=data, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _statuses(home) == [dg.DagsterRunStatus.STARTED]
    assert (data / "lake" / "silver" / "orders" / ".asset.commit").exists()  # torn on disk

    rerun = _cli(data, home)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "FAILURE: etl-assets run (pid" in err  # the dead run, named
    assert "rolled back an interrupted write of silver/orders" in err
    assert sorted(_statuses(home), key=str) == sorted(
        [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS], key=str
    )
    assert lake_fingerprint(data / "lake") == reference


def test_runs_whose_process_died_are_marked_failed_and_live_ones_kept(tmp_path):
    with open_instance(tmp_path) as instance:
        job = dg.GraphDefinition(name="g", node_defs=[]).to_job()  # an empty job to record
        gone = dead_pid()
        host = os.uname().nodename
        cli_dead = instance.create_run_for_job(job, tags={PROCESS_TAG: f"{host}:{gone}:1"})
        cli_alive = instance.create_run_for_job(
            job, tags={PROCESS_TAG: f"{host}:{os.getpid()}:{_start_of(os.getpid())}"}
        )
        launched = instance.create_run_for_job(job)
        for run in (cli_dead, cli_alive, launched):
            instance.handle_new_event(_started_event(run))
        instance.report_engine_event(f"Started process for run (pid: {dead_pid()}).", launched)

        marked = dict(fail_dead_runs(instance))
        assert set(marked) == {cli_dead.run_id, launched.run_id}
        assert f"pid {gone}" in marked[cli_dead.run_id]
        status = {run.run_id: run.status for run in instance.get_runs()}
        assert status[cli_dead.run_id] == dg.DagsterRunStatus.FAILURE
        assert status[launched.run_id] == dg.DagsterRunStatus.FAILURE
        assert status[cli_alive.run_id] == dg.DagsterRunStatus.STARTED


def _start_of(pid: int) -> str:
    from etl_assets.instance_guard import _started

    return _started(pid)


def _started_event(run: dg.DagsterRun):
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    event = DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name)
    return EventLogEntry(
        error_info=None, level="INFO", user_message="", run_id=run.run_id, timestamp=0.0,
        dagster_event=event,
    )  # fmt: skip

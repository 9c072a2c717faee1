"""Concurrent headless runs on a new and on an existing instance, a real run killed in
each layer, dead runs: the instance stays usable, no run stays STARTED, two runs never
interleave their writes, and a plain re-run restores the exact lake of a clean run."""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from etl_assets.instance_guard import (
    PROCESS_TAG,
    RunConflict,
    fail_dead_runs,
    open_instance,
    refuse_overlapping_runs,
)
from etl_assets_tests.faults.fingerprints import dead_pid, lake_fingerprint
from etl_assets_tests.faults.runs import run_and_kill, run_here, start_run, statuses

SUCCESS, FAILURE, STARTED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.STARTED,
)


@dataclass(frozen=True)
class Clean:
    lake: dict[str, str]  # the fingerprint of a clean run's lake
    data: Path  # where it ran: landing, lake, and its instance under home/
    home: Path


@pytest.fixture(scope="module")
def tiny_sample(sample_of) -> Path:
    return sample_of(days=2, rows_per_day=150, seed=5)


def _together(data: Path, home: Path) -> list[tuple[str, str]]:
    """Two `etl-assets run` started at once; both must succeed, one waiting for the other."""
    runs = [start_run(data, home), start_run(data, home)]
    outcomes = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert sum("waiting for etl-assets run (pid" in err for _, err in outcomes) == 1, outcomes
    return outcomes


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_sample) -> Clean:
    """Two `etl-assets run` started together on a new DAGSTER_HOME: both succeed (the second
    waits for the first), the instance opens afterwards; the lake they leave is the
    reference of a clean run."""
    data = tmp_path_factory.mktemp("concurrent")
    shutil.copytree(tiny_sample / "landing", data / "landing")
    home = data / "home"  # new: neither run finds an instance
    _together(data, home)
    assert statuses(home) == [SUCCESS] * 2
    return Clean(lake_fingerprint(data / "lake"), data, home)


def test_concurrent_runs_on_a_new_instance_leave_it_usable(reference):
    assert any(name.startswith("gold/daily_sales/") for name in reference.lake)
    assert "stray file" not in reference.lake.values()


def test_concurrent_runs_on_an_existing_instance_queue_and_never_interleave(reference):
    data, home = reference.data, reference.home
    _together(data, home)  # the instance exists: two runs were made on it already

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = sorted(instance.get_run_records(), key=lambda r: r.start_time)
        assert [r.dagster_run.status for r in records] == [SUCCESS] * 4
        for earlier, later in itertools.pairwise(records):  # one after the other, never both
            assert earlier.end_time <= later.start_time
        last = records[-1]
    # Every bronze row was ingested during the last run: no file, no row of the other one.
    ingested = pd.concat(
        pd.read_parquet(path, columns=["_ingested_at"])["_ingested_at"]
        for path in (data / "lake" / "bronze").rglob("*.parquet")
    )
    assert ingested.min().timestamp() >= last.start_time
    assert ingested.max().timestamp() <= last.end_time
    assert lake_fingerprint(data / "lake") == reference.lake


@pytest.mark.parametrize(
    ("asset", "moment"),
    [
        ("bronze/orders", "staging"),  # the first layer, its day files half staged
        ("silver/orders", "renames"),  # a range step between its renames
        ("gold/customer_rfm", "renames"),  # a whole-history mart, its file renamed
    ],
)
def test_kill_9_of_a_run_then_a_plain_rerun_restores_the_clean_lake(
    tmp_path, tiny_sample, reference, monkeypatch, asset, moment
):
    data = tmp_path
    shutil.copytree(tiny_sample / "landing", data / "landing")
    home = data / "home"
    run_and_kill(data, home, asset, moment)
    assert statuses(home) == [STARTED]
    lake = data / "lake"
    journal = lake / asset / ".asset.commit"
    if asset == "gold/customer_rfm":
        journal = lake / "gold" / ".customer_rfm.commit"
    assert journal.exists() == (moment == "renames")  # torn on disk until the next run
    if moment == "staging":
        assert any(p.name.endswith(".tmp") for p in (lake / asset).iterdir())

    if asset.startswith("gold/"):  # killed between layers: its input is new already
        now = lake_fingerprint(lake)
        orders = [name for name in reference.lake if name.startswith("silver/orders/")]
        assert orders and all(now.get(name) == reference.lake[name] for name in orders)

    code, err = run_here(monkeypatch, data, home)
    assert code == 0, err
    assert "FAILURE: etl-assets run (pid" in err  # the dead run, named
    assert ("rolled back an interrupted write of " + asset in err) == (moment == "renames")
    assert statuses(home) == [FAILURE, SUCCESS]
    assert lake_fingerprint(lake) == reference.lake  # staged files gone too


def test_a_headless_run_refuses_days_a_run_launched_elsewhere_is_writing(tmp_path):
    with open_instance(tmp_path) as instance:
        job = dg.GraphDefinition(name="g", node_defs=[]).to_job()
        ui_run = instance.create_run_for_job(
            job,
            tags={
                "dagster/asset_partition_range_start": "2024-01-02",
                "dagster/asset_partition_range_end": "2024-01-03",
            },
        )
        instance.handle_new_event(_started_event(ui_run))
        refuse_overlapping_runs(instance, ["2024-01-04"])  # other days: runs beside it
        with pytest.raises(RunConflict) as conflict:
            refuse_overlapping_runs(instance, ["2024-01-03", "2024-01-04"])
    message = str(conflict.value)
    assert ui_run.run_id in message and "days 2024-01-02 .. 2024-01-03" in message


def test_a_run_does_not_start_while_a_landing_file_is_still_being_written(
    tmp_path, tiny_sample, monkeypatch
):
    shutil.copytree(tiny_sample / "landing", tmp_path / "landing")
    uploading = tmp_path / "landing" / "orders" / "orders_2024-01-02.csv"
    uploading.write_bytes(b"")  # the upload has just begun
    code, err = run_here(monkeypatch, tmp_path, tmp_path / "home")
    assert code == 2
    assert "orders/orders_2024-01-02.csv: empty: still being written" in err
    assert not (tmp_path / "lake").exists()  # nothing ran


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

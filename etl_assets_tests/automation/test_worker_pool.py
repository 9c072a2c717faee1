"""The worker pool prepares the Dagster instance's storage once, before its first worker."""

from __future__ import annotations

import subprocess
import threading

import pytest
from filelock import FileLock

from etl_assets.automation.workers import WorkerError, WorkerPool
from etl_assets.instance_guard import INSTANCE_LOCK
from etl_assets.settings import load_settings


def _pool(home) -> WorkerPool:
    settings = load_settings({"ETL_DATA_DIR": str(home / "data")})
    environ = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return WorkerPool(settings=settings, environ=environ, cwd=home)


def test_a_fresh_instance_gets_its_storage_before_any_worker(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    pool = _pool(home)
    pool.prepare_instance()
    assert pool.instance_ready
    assert (home / "history" / "runs.db").exists()  # the run storage Dagster created
    (home / "dagster.yaml").write_text("not: [valid")  # once prepared, not run again
    pool.prepare_instance()


def test_an_instance_that_cannot_be_prepared_says_where_and_why(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_storage:\n  module: no_such_module\n  class: X\n")
    pool = _pool(home)
    with pytest.raises(WorkerError, match=r"could not prepare the Dagster instance under .*home"):
        pool.prepare_instance()
    assert not pool.instance_ready


def test_it_waits_for_the_lock_etl_assets_run_opens_the_instance_with(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    pool = _pool(home)
    with FileLock(str(home / INSTANCE_LOCK)):  # an `etl-assets run` opening the instance
        waiting = threading.Thread(target=pool.prepare_instance)
        waiting.start()
        waiting.join(timeout=2)
        assert waiting.is_alive() and not pool.instance_ready
    waiting.join(timeout=60)
    assert not waiting.is_alive() and pool.instance_ready


def test_an_instance_that_does_not_answer_in_time_says_so(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()

    def hangs(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hangs)
    pool = _pool(home)
    with pytest.raises(WorkerError, match=r"did not finish within 5 s \(is its database"):
        pool.prepare_instance(timeout=5)
    assert not pool.instance_ready

"""Running `etl-assets run` as an operator would: in a process of its own (to kill it or run
two at once), or in this one (a plain re-run, without the start-up of a new interpreter)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.cli import main
from etl_assets.settings import get_settings
from etl_assets_tests.faults import run_and_die

PROJECT = Path(__file__).resolve().parents[2]


def cli_env(data: Path, home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *sys.path]),
        "ETL_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def start_run(data: Path, home: Path, **extra: str) -> subprocess.Popen:
    """`etl-assets run` in a process of its own; `.communicate()` gives (stdout, stderr)."""
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from etl_assets.cli import main; "
         "sys.exit(main(['run', '--log-level', 'ERROR']))"],
        env=cli_env(data, home, **extra), cwd=data, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_and_kill(data: Path, home: Path, asset: str, moment: str, **extra: str) -> str:
    """`etl-assets run` killed by SIGKILL at `moment` of `asset`'s write (run_and_die.py);
    its stderr."""
    killed = subprocess.run(
        [sys.executable, run_and_die.__file__, asset, moment],
        env=cli_env(data, home, **extra), cwd=data, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    return killed.stderr


def run_here(
    monkeypatch: pytest.MonkeyPatch, data: Path, home: Path, **extra: str
) -> tuple[int, str]:
    """A plain `etl-assets run` in this process: (exit code, what it wrote to stderr)."""
    err = io.StringIO()
    with monkeypatch.context() as patch, contextlib.redirect_stderr(err):
        for name, value in {"ETL_DATA_DIR": str(data), "DAGSTER_HOME": str(home), **extra}.items():
            patch.setenv(name, value)
        patch.chdir(data)
        get_settings.cache_clear()
        try:
            code = main(["run", "--log-level", "ERROR"])
        finally:
            get_settings.cache_clear()
    return code, err.getvalue()


def statuses(home: Path) -> list[dg.DagsterRunStatus]:
    """The status of every run on the instance at `home`, oldest first."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [run.status for run in reversed(instance.get_runs())]

"""The commands print what matters: no Dagster BetaWarning/PreviewWarning in `etl-assets run
--help`, `etl-assets run` or `make validate` (on a fresh DAGSTER_HOME); the tests themselves
still see the warnings (they are silenced in the commands and the code location only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from etl_assets_tests.conftest import copy_landing

ROOT = Path(__file__).parents[2]
NOTICES = ("BetaWarning", "PreviewWarning")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "DAGSTER_"))}
    env.update(PYTHONPATH=str(ROOT), DAGSTER_HOME=str(tmp_path / "home"), **extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_run_help_and_run_print_no_dagster_notices(tmp_path, sample_dir):
    data = copy_landing(sample_dir, tmp_path / "data")
    (tmp_path / "home").mkdir()
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    env = _env(tmp_path, ETL_DATA_DIR=str(data))
    command = [sys.executable, "-m", "etl_assets.cli"]
    helped = _run([*command, "run", "--help"], env, tmp_path)
    assert "--from" in helped and not any(n in helped for n in NOTICES)
    ran = _run([*command, "run"], env, tmp_path)
    assert "SUCCESS - 3 days" in ran, ran
    assert not any(notice in ran for notice in NOTICES), ran


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_validate_works_before_any_run_and_prints_no_notices(tmp_path):
    venv = Path(sys.prefix)
    if not (venv / "bin" / "dg").exists():
        pytest.skip("dagster-dg-cli is not installed in this environment")
    # A fresh clone: no DAGSTER_HOME directory, no data. `-o` keeps make from reinstalling
    # the environment the tests run in.
    env = _env(tmp_path, ETL_DATA_DIR=str(tmp_path / "data"))
    env.pop("DAGSTER_HOME")
    home = tmp_path / "home"
    args = ["make", "-s", "-o", f"{venv}/.installed", "validate", f"VENV={venv}"]
    output = _run([*args, f"DAGSTER_HOME={home}"], env, ROOT)
    assert "All definitions loaded successfully." in output
    assert not any(notice in output for notice in NOTICES), output
    assert (home / "dagster.yaml").exists()


def test_the_tests_still_see_the_notices(tmp_path):
    from etl_assets.definitions import build_definitions
    from etl_assets.settings import load_settings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build_definitions(load_settings({"ETL_DATA_DIR": str(tmp_path)}))
    names = {type(w.message).__name__ for w in seen}
    assert names & set(NOTICES), names

"""Shared fixtures: sample landing data, definitions over it, an instance, fresh breakers.

Every test module that needs generated sample data asks `sample_of` for it: each distinct
sample is generated once per session (read-only; `copy_landing` gives a test its own copy).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.connectors.http import reset_breakers
from etl_assets.definitions import build_definitions
from etl_assets.sample import generate_sample
from etl_assets.settings import Settings, load_settings


def pytest_configure(config) -> None:
    """Ctrl-C as in a terminal, however pytest was started. A shell starts a background job
    with SIGINT ignored; the children would inherit it (Python keeps an ignored SIGINT), and
    Dagster maps SIGTERM to SIGINT's handler, so the tests that stop `dagster dev` or a
    server with a signal would wait forever."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: only called when xdist runs
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (`make test`): by module, and the server tests on one worker
    (etl_assets_tests/parallel.py says why)."""
    if config.getvalue("dist") == "loadscope":
        from etl_assets_tests.parallel import ModuleAndServersScheduling

        return ModuleAndServersScheduling(config, log)
    return None


SAMPLE_DAYS = 3
SAMPLE_ROWS = 2_000
SAMPLE_START = "2024-01-01"

SampleOf = Callable[..., Path]


def settings_for(data_dir: Path, **extra: str) -> Settings:
    return load_settings({"ETL_DATA_DIR": str(data_dir), **extra})


def range_tags(first: str, last: str) -> dict[str, str]:
    """The run tags of a single-run backfill of the days first..last, as the UI sets them."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def copy_landing(sample: Path, data_dir: Path) -> Path:
    """A private data directory holding a copy of a sample's landing zone (and manifest)."""
    shutil.copytree(sample / "landing", data_dir / "landing")
    return data_dir


@pytest.fixture(scope="session")
def sample_of(tmp_path_factory) -> SampleOf:
    """`sample_of(days=…, rows_per_day=…, seed=…, start=…)`: the directory of that generated
    sample, made once per session. Read-only: tests that write use `copy_landing` first."""
    made: dict[tuple, Path] = {}

    def _sample(*, days: int, rows_per_day: int, seed: int, start: str = SAMPLE_START) -> Path:
        key = (start, days, rows_per_day, seed)
        if key not in made:
            out = tmp_path_factory.mktemp(f"sample_{days}x{rows_per_day}_seed{seed}")
            generate_sample(out, start=start, days=days, rows_per_day=rows_per_day, seed=seed)
            made[key] = out
        return made[key]

    return _sample


@pytest.fixture(scope="session")
def sample_dir(sample_of) -> Path:
    """Read-only sample landing data; tests that write copy it first."""
    return sample_of(days=SAMPLE_DAYS, rows_per_day=SAMPLE_ROWS, seed=11)


@pytest.fixture
def data_dir(tmp_path, sample_dir) -> Path:
    """A private data directory holding a copy of the sample landing zone."""
    return copy_landing(sample_dir, tmp_path)


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def fresh_breakers():
    """Circuit breakers are per process: each test that uses one starts with them closed."""
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def defs_for():
    def _build(data_dir: Path, **extra: str) -> tuple[dg.Definitions, Settings]:
        settings = settings_for(data_dir, **extra)
        return build_definitions(settings), settings

    return _build

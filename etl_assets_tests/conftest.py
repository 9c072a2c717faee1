"""Shared fixtures: sample landing data in a temporary directory and definitions over it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from etl_assets.definitions import build_definitions
from etl_assets.sample import generate_sample
from etl_assets.settings import Settings, load_settings

SAMPLE_DAYS = 3
SAMPLE_ROWS = 2_000


def settings_for(data_dir: Path, **extra: str) -> Settings:
    return load_settings({"ETL_DATA_DIR": str(data_dir), **extra})


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """Read-only sample landing data; tests that write copy it first."""
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, start="2024-01-01", days=SAMPLE_DAYS, rows_per_day=SAMPLE_ROWS, seed=11)
    return out


@pytest.fixture
def data_dir(tmp_path, sample_dir) -> Path:
    """A private data directory holding a copy of the sample landing zone."""
    import shutil

    shutil.copytree(sample_dir / "landing", tmp_path / "landing")
    return tmp_path


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def defs_for():
    def _build(data_dir: Path, **extra: str) -> tuple[dg.Definitions, Settings]:
        settings = settings_for(data_dir, **extra)
        return build_definitions(settings), settings

    return _build

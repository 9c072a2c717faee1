"""One clean run of every layer on a small sample, shared by the quality tests (read-only:
tests that corrupt data work on a copy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from etl_assets.definitions import build_definitions
from etl_assets.runner import RunSummary, run_pipeline
from etl_assets_tests.conftest import copy_landing, settings_for

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"]


@dataclass
class Run:
    data_dir: Path
    defs: dg.Definitions
    instance: dg.DagsterInstance
    summary: RunSummary


@pytest.fixture(scope="session")
def clean(tmp_path_factory, sample_of):
    sample = sample_of(start=DAYS[0], days=len(DAYS), rows_per_day=1000, seed=5)
    data_dir = copy_landing(sample, tmp_path_factory.mktemp("quality_sample"))
    settings = settings_for(data_dir)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        yield Run(data_dir, defs, instance, run_pipeline(defs, settings, instance))

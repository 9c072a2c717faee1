"""Helpers for the automation tests: landing a later day, and running what a sensor asks."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from etl_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_ROWS

DAY_AFTER_SAMPLE = "2024-01-04"


@pytest.fixture(scope="session")
def longer_sample(sample_of) -> Path:
    """The session sample plus one day: its first days are byte-identical to the sample's."""
    return sample_of(days=SAMPLE_DAYS + 1, rows_per_day=SAMPLE_ROWS, seed=11)


@pytest.fixture
def land_next_day(longer_sample, data_dir):
    """Copies the day after the sample (orders and customers) into the landing zone."""

    def _land(names=("orders", "customers")) -> list[Path]:
        landed = []
        for name in names:
            source = longer_sample / "landing" / name / f"{name}_{DAY_AFTER_SAMPLE}.csv"
            target = data_dir / "landing" / name / source.name
            shutil.copy(source, target)
            landed.append(target)
        return landed

    return _land


@pytest.fixture
def persistent_instance():
    """Sensors evaluated in tests need an instance with storage (not an ephemeral one)."""
    with dg.instance_for_test() as instance:
        yield instance


def execute(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest):
    """Runs a sensor's or the automation's run request in process, as the daemon would."""
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance,
        asset_selection=list(request.asset_selection or []),
        partition_key=request.partition_key,
        # Partition tags come from partition_key; the request's own tags are kept.
        tags={k: v for k, v in request.tags.items() if not k.startswith("dagster/")},
        raise_on_error=False,
    )


def evaluate_sensor(defs: dg.Definitions, instance, name: str, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
    )
    result = defs.resolve_sensor_def(name).evaluate_tick(context)
    for event in result.asset_events:  # the daemon stores the tick's observations
        instance.report_runless_asset_event(event)
    return result

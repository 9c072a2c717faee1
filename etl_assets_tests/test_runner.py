"""Which days `etl-assets run` runs: landed days of files sources, every complete day of
daily HTTP sources, the landed days when both are declared; and one run of everything when
no source is daily."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pytest

from etl_assets.automation.jobs import MEDALLION_JOB
from etl_assets.runner import NothingToRun, days_to_run, run_pipeline
from etl_assets_tests.connectors.fault_server import FaultServer, paged
from etl_assets_tests.test_declared_sources import HTTP_YAML, QUAKE_DAYS, STATIONS, quake_workspace

PRODUCTS_YAML = Path(__file__).parents[1] / "etl_assets" / "sources" / "products.yaml"


# Each test starts with closed circuit breakers (conftest.fresh_breakers).
pytestmark = pytest.mark.usefixtures("fresh_breakers")


@pytest.fixture
def stations_api():
    with FaultServer(paged(STATIONS)) as server:
        yield server


def requested_days(server: FaultServer) -> list[str]:
    return sorted({parse_qs(urlsplit(path).query)["day"][0] for path in server.requests})


def add_stations(sources: Path, server: FaultServer) -> None:
    url = server.base + "/stations?day={date}"
    (sources / "stations.yaml").write_text(HTTP_YAML.format(url=url))


def last_days(timezone: str, count: int) -> list[str]:
    """The `count` complete days before today in `timezone`, oldest first."""
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(count, 0, -1)]


def test_http_only_daily_source_runs_every_complete_day(tmp_path, defs_for, instance, stations_api):
    sources, data = tmp_path / "sources", tmp_path / "data"
    sources.mkdir()
    add_stations(sources, stations_api)
    # Tokyo is ahead of UTC most of the day: "yesterday" must be Tokyo's, not the machine's.
    expected = last_days("Asia/Tokyo", 3)
    defs, settings = defs_for(
        data,
        ETL_SOURCES_DIR=str(sources),
        ETL_PARTITIONS_START=expected[0],
        ETL_TIMEZONE="Asia/Tokyo",
    )
    assert days_to_run(defs, settings) == expected

    summary = run_pipeline(defs, settings, instance)
    assert summary.success, summary.table()
    assert (summary.first_day, summary.last_day, summary.days) == (expected[0], expected[-1], 3)
    assert requested_days(stations_api) == expected
    for day in expected:
        assert len(pd.read_parquet(data / "lake" / "bronze" / "stations" / f"{day}.parquet")) == 250

    assert days_to_run(defs, settings, first_day=expected[1]) == expected[1:]
    assert days_to_run(defs, settings, last_day=expected[0]) == expected[:1]


def test_http_only_without_a_complete_day_says_what_to_do(tmp_path, defs_for, stations_api):
    sources = tmp_path / "sources"
    sources.mkdir()
    add_stations(sources, stations_api)
    today = dt.datetime.now(ZoneInfo("UTC")).date().isoformat()
    defs, settings = defs_for(tmp_path, ETL_SOURCES_DIR=str(sources), ETL_PARTITIONS_START=today)
    with pytest.raises(NothingToRun, match="no complete day yet.*ETL_PARTITIONS_START"):
        days_to_run(defs, settings)


def test_files_and_http_daily_sources_run_the_landed_days(
    tmp_path, defs_for, instance, stations_api
):
    sources, data = quake_workspace(tmp_path, with_hook=False)
    add_stations(sources, stations_api)
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources))
    assert days_to_run(defs, settings) == QUAKE_DAYS  # not every day since 2024-01-01

    summary = run_pipeline(defs, settings, instance)
    assert summary.success, summary.table()
    assert summary.days == 3
    assert requested_days(stations_api) == QUAKE_DAYS  # fetched for the landed days only
    assert (data / "lake" / "silver" / "stations" / "2024-03-02.parquet").exists()


def test_a_day_without_its_file_inside_the_range_runs_the_others(tmp_path, defs_for, instance):
    sources, data = quake_workspace(tmp_path, with_hook=False)
    (data / "landing" / "quakes" / "quakes_2024-03-02.csv").unlink()
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources))
    assert days_to_run(defs, settings) == ["2024-03-01", "2024-03-03"]
    summary = run_pipeline(defs, settings, instance)
    assert summary.success, summary.table()
    assert len(summary.runs) == 2  # one range each side of the gap
    assert summary.not_run == ["quakes 2024-03-02"]
    assert not (data / "lake" / "bronze" / "quakes" / "2024-03-02.parquet").exists()
    assert (data / "lake" / "bronze" / "quakes" / "2024-03-03.parquet").exists()


def test_ranges_narrow_the_days_and_bad_ones_say_why(tmp_path, defs_for):
    sources, data = quake_workspace(tmp_path, with_hook=False)
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources))
    # Bounds beyond the landed days clip (the docs' "--from 2024-01-01 --to 2024-01-31").
    assert days_to_run(defs, settings, "2024-02-01", "2024-03-02") == QUAKE_DAYS[:2]
    with pytest.raises(NothingToRun, match="2024-03-03 is after --to 2024-03-01: swap"):
        days_to_run(defs, settings, "2024-03-03", "2024-03-01")
    with pytest.raises(NothingToRun, match=r"runnable days are 2024-03-01 \.\. 2024-03-03"):
        days_to_run(defs, settings, "2024-04-01")


def test_files_landed_before_the_partitions_start_are_named(tmp_path, defs_for):
    sources, data = quake_workspace(tmp_path, with_hook=False)
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources), ETL_PARTITIONS_START="2024-04-01")
    with pytest.raises(NothingToRun) as nothing:
        days_to_run(defs, settings)
    message = str(nothing.value)
    assert "quakes/quakes_{date}.csv: 2024-03-01 .. 2024-03-03 (3 days)" in message
    assert "ETL_PARTITIONS_START=2024-04-01" in message


def unpartitioned_workspace(tmp_path: Path, sample_dir: Path) -> tuple[Path, Path]:
    """A sources folder holding only the product catalogue (undated), with its file landed."""
    sources, data = tmp_path / "sources", tmp_path / "data"
    sources.mkdir()
    shutil.copy(PRODUCTS_YAML, sources)
    shutil.copytree(sample_dir / "landing" / "products", data / "landing" / "products")
    return sources, data


def test_unpartitioned_sources_load_and_run_once(tmp_path, sample_dir, defs_for, instance):
    sources, data = unpartitioned_workspace(tmp_path, sample_dir)
    defs, settings = defs_for(data, ETL_SOURCES_DIR=str(sources))
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def(MEDALLION_JOB).partitions_def is None
    assert days_to_run(defs, settings) == []
    with pytest.raises(NothingToRun, match="no source declared in .* is daily"):
        days_to_run(defs, settings, first_day="2024-01-01")

    summary = run_pipeline(defs, settings, instance)
    assert summary.success, summary.table()
    assert "no daily source, every asset once" in summary.table()
    assert summary.layers["silver"].assets == {"silver/products", "silver/products_quarantine"}
    silver = pd.read_parquet(data / "lake" / "silver" / "products.parquet")
    catalogue = pd.read_csv(data / "landing" / "products" / "products.csv")
    assert 0 < len(silver) <= len(catalogue)
    with pytest.raises(NothingToRun, match="no source declared in .* is daily"):
        run_pipeline(defs, settings, instance, days=["2024-01-01"])


def test_an_empty_sources_folder_says_what_to_do(tmp_path, defs_for, instance):
    (tmp_path / "sources").mkdir()
    defs, settings = defs_for(tmp_path, ETL_SOURCES_DIR=str(tmp_path / "sources"))
    with pytest.raises(NothingToRun, match="no source is declared in .*add a \\*.yaml"):
        run_pipeline(defs, settings, instance)

"""`etl-assets` commands: sample data; `run` over daily HTTP, files and undated sources, and a
clear message when there is nothing to run."""

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from etl_assets.cli import build_parser, main
from etl_assets.connectors.http import reset_breakers
from etl_assets.sample.api import load_catalogue, make_server, serve_in_thread, url_of
from etl_assets.settings import get_settings, load_settings, yesterday_in
from etl_assets_tests.conftest import copy_landing
from etl_assets_tests.connectors.fault_server import FaultServer, paged
from etl_assets_tests.test_declared_sources import STATIONS, quake_workspace
from etl_assets_tests.test_runner import PRODUCTS_YAML, add_stations, last_days, requested_days


def test_sample_writes_landing_zone_ending_yesterday(tmp_path, capsys):
    code = main(["sample", "--out", str(tmp_path), "--days", "2", "--rows-per-day", "300"])
    assert code == 0
    assert "2 days, 600 order lines" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "landing" / "manifest.json").read_text())
    yesterday = yesterday_in(get_settings().timezone)
    assert sorted(manifest["orders"]) == [str(yesterday - dt.timedelta(days=1)), str(yesterday)]
    assert (tmp_path / "landing" / "products" / "products.csv").exists()
    # the partitions begin where the sample begins
    assert load_settings({"ETL_DATA_DIR": str(tmp_path)}).partitions_start == manifest["start"]


def test_sample_with_a_start_is_the_same_files_anywhere(tmp_path):
    for out in ("a", "b"):
        args = ["--out", str(tmp_path / out), "--days", "2", "--rows-per-day", "200"]
        assert main(["sample", *args, "--start", "2024-03-01"]) == 0
    names = sorted(p.name for p in (tmp_path / "a" / "landing" / "orders").iterdir())
    assert names == ["orders_2024-03-01.csv", "orders_2024-03-02.csv"]
    for name in names:
        first, second = (tmp_path / out / "landing" / "orders" / name for out in ("a", "b"))
        assert first.read_bytes() == second.read_bytes()


def test_sample_refuses_to_mix_with_existing_files(tmp_path, capsys):
    args = ["sample", "--out", str(tmp_path), "--days", "3", "--rows-per-day", "100"]
    assert main(args) == 0
    shorter = ["sample", "--out", str(tmp_path), "--days", "1", "--rows-per-day", "100"]
    assert main(shorter) == 2
    assert "--replace" in capsys.readouterr().err
    assert main([*shorter, "--replace"]) == 0
    assert len(list((tmp_path / "landing" / "orders").iterdir())) == 1


def test_sample_rejects_bad_arguments(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path), "--days", "0"]) == 2
    assert "days" in capsys.readouterr().err


def test_run_without_landing_files_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ETL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    from etl_assets.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["run"]) == 2
    finally:
        get_settings.cache_clear()
    assert "etl-assets sample" in capsys.readouterr().err


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """Runs `etl-assets run` in tmp_path with these environment variables, on a fresh
    instance; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))

    def run(args: list[str], capsys, **environ: str):
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            code = main(["run", "--log-level", "ERROR", *args])
        finally:
            get_settings.cache_clear()
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_run_fetches_every_complete_day_of_a_daily_http_source(tmp_path, cli_env, capsys):
    sources = tmp_path / "sources"
    sources.mkdir()
    days = last_days("UTC", 2)
    with FaultServer(paged(STATIONS)) as server:
        add_stations(sources, server)
        code, out, err = cli_env(
            [],
            capsys,
            ETL_SOURCES_DIR=str(sources),
            ETL_DATA_DIR=str(tmp_path / "data"),
            ETL_PARTITIONS_START=days[0],
        )
        assert code == 0, err
        assert f"SUCCESS - 2 days ({days[0]} .. {days[1]})" in out
        assert requested_days(server) == days
        # --to narrows the days, and names that do not exist are refused before any run.
        code, out, err = cli_env(["--to", days[0]], capsys)
        assert code == 0, err
        assert f"SUCCESS - 1 day ({days[0]} .. {days[0]})" in out
        code, _, err = cli_env(["--from", "2099-01-01"], capsys)
        assert code == 2 and f"the runnable days are {days[0]} .. {days[1]}" in err


def test_run_lands_the_days_around_a_missing_file_naming_it(tmp_path, cli_env, capsys):
    sources, data = quake_workspace(tmp_path, with_hook=False)
    (data / "landing" / "quakes" / "quakes_2024-03-02.csv").unlink()
    code, out, err = cli_env([], capsys, ETL_SOURCES_DIR=str(sources), ETL_DATA_DIR=str(data))
    assert code == 0, err
    assert "not landed: quakes 2024-03-02" in out
    code, out, err = cli_env(["--first-day", "2024-03-03"], capsys)  # the old spelling
    assert code == 0, err
    assert "SUCCESS - 1 day (2024-03-03 .. 2024-03-03)" in out


def test_run_materializes_unpartitioned_sources_once_over_the_sample_api(
    tmp_path, sample_dir, cli_env, capsys
):
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(PRODUCTS_YAML, sources)  # undated; read over HTTP once the URL is set
    reset_breakers()
    server = make_server(load_catalogue(sample_dir / "landing"))
    thread = serve_in_thread(server)
    try:
        code, out, err = cli_env(
            [],
            capsys,
            ETL_SOURCES_DIR=str(sources),
            ETL_DATA_DIR=str(tmp_path / "data"),
            ETL_CATALOGUE_URL=url_of(server),
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        reset_breakers()
    assert code == 0, err
    assert "SUCCESS - no daily source, every asset once" in out
    bronze = pd.read_parquet(tmp_path / "data" / "lake" / "bronze" / "products.parquet")
    assert set(bronze["_source_file"]) == {url_of(server)}
    code, _, err = cli_env(["--from", "2024-01-01"], capsys)
    assert code == 2 and "is daily: run without them" in err


@pytest.mark.parametrize(
    "flags",
    [
        ["--from", "2024-01-02", "--to", "2024-01-03"],
        ["--first-day", "2024-01-02", "--last-day", "2024-01-03"],
    ],
)
def test_run_takes_from_and_to_or_the_old_first_and_last_day(flags):
    args = build_parser().parse_args(["run", *flags])
    assert (args.first_day, args.last_day) == ("2024-01-02", "2024-01-03")


@pytest.mark.parametrize("day", ["2024-1-5", "20240105", "yesterday"])
def test_run_refuses_a_day_that_is_not_yyyy_mm_dd(day, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", "--from", day])
    assert exited.value.code == 2
    assert f"{day!r} is not a day: use YYYY-MM-DD" in capsys.readouterr().err


def test_run_exits_1_when_a_day_fails_and_0_when_all_is_well(tmp_path, cli_env, capsys, sample_of):
    sample = sample_of(days=3, rows_per_day=200, seed=7)
    range_args = ["--from", "2024-01-01", "--to", "2024-01-03"]
    good = copy_landing(sample, tmp_path / "good")
    code, out, err = cli_env(range_args, capsys, ETL_DATA_DIR=str(good))
    assert code == 0, err + out
    assert "SUCCESS - 3 days (2024-01-01 .. 2024-01-03)" in out
    assert "FAILED" not in out

    bad = copy_landing(sample, tmp_path / "bad")
    (bad / "landing" / "orders" / "orders_2024-01-02.csv").write_text("no,orders,here\n1,2,3\n")
    code, out, err = cli_env(range_args, capsys, ETL_DATA_DIR=str(bad))
    assert code == 1, err + out
    assert "FAILURE - 3 days (2024-01-01 .. 2024-01-03)" in out
    [line] = [line for line in out.splitlines() if "2024-01-02" in line]
    assert line.startswith("FAILED bronze/orders 2024-01-02: orders/orders_2024-01-02.csv: ")
    for day in ("2024-01-01", "2024-01-03"):  # the other days landed
        assert (bad / "lake" / "gold" / "daily_sales" / f"{day}.parquet").exists()
    assert not (bad / "lake" / "gold" / "daily_sales" / "2024-01-02.parquet").exists()

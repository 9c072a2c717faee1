"""A bad day fails alone, the reject-rate gate blocks its day's gold only, every source runs
on the days it has landed, `--select` runs a source alone; each fed the bad input it is
about, through `run_pipeline` (what `etl-assets run` calls)."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from etl_assets.runner import days_to_run, run_pipeline
from etl_assets_tests.conftest import copy_landing

SOURCES = Path(__file__).parents[1] / "etl_assets" / "sources"
DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]


@pytest.fixture
def landing(tmp_path, sample_of) -> Path:
    return copy_landing(sample_of(days=4, rows_per_day=400, seed=5), tmp_path / "data")


def orders_file(data: Path, day: str) -> Path:
    return data / "landing" / "orders" / f"orders_{day}.csv"


def rewrite(path: Path, change) -> None:
    """Every data line of an orders file passed through `change(row)` (latin-1: lossless);
    a line it returns None for is left out."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1"))))
    changed = [row for row in (change(r) for r in rows[1:]) if row is not None]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([rows[0], *changed])
    path.write_bytes(out.getvalue().encode("latin-1"))


def lake(data: Path, layer: str, name: str, day: str) -> Path:
    return data / "lake" / layer / name / f"{day}.parquet"


def test_a_day_over_the_reject_rate_blocks_its_gold_only(landing, defs_for, instance):
    defs, settings = defs_for(landing)
    first = run_pipeline(defs, settings, instance, days=["2024-01-03"])
    assert first.success, first.table()
    published = lake(landing, "gold", "daily_sales", "2024-01-03").read_bytes()

    def no_quantity(row):
        row[3] = "abc"
        return row

    rewrite(orders_file(landing, "2024-01-03"), no_quantity)
    summary = run_pipeline(defs, settings, instance)

    assert not summary.success  # etl-assets run exits 1
    assert sorted(summary.failed_days) == ["2024-01-03"]
    # One line for the day and its cause, as the issue writes it.
    [line] = [line for line in summary.table().splitlines() if "rows rejected" in line]
    assert re.fullmatch(
        r"FAILED silver/orders 2024-01-03: \d+\.\d % of [\d,]+ rows rejected "
        r"\(unparseable_quantity [\d,]+(, [a-z_]+ [\d,]+)*\), 5 % allowed",
        line,
    ), line
    for day in ["2024-01-01", "2024-01-02", "2024-01-04"]:
        assert lake(landing, "gold", "daily_sales", day).exists(), day
    # What was published before stays as it was.
    assert lake(landing, "gold", "daily_sales", "2024-01-03").read_bytes() == published
    assert not any("row_accounting" in line for line in summary.check_lines)


def test_an_unreadable_file_fails_its_day_alone(landing, defs_for, instance):
    orders_file(landing, "2024-01-02").write_text("no,orders,here\n1,2,3\n")
    defs, settings = defs_for(landing)
    summary = run_pipeline(defs, settings, instance)

    assert not summary.success
    assert list(summary.failed_days) == ["2024-01-02"]
    [cause] = summary.failed_days["2024-01-02"]
    assert cause.asset == "bronze/orders"
    assert "orders/orders_2024-01-02.csv: required column(s)" in cause.reason
    for day in ["2024-01-01", "2024-01-03", "2024-01-04"]:
        for layer, name in [("bronze", "orders"), ("silver", "orders"), ("gold", "daily_sales")]:
            assert lake(landing, layer, name, day).exists(), (layer, name, day)
    for layer, name in [("bronze", "orders"), ("silver", "orders"), ("gold", "daily_sales")]:
        assert not lake(landing, layer, name, "2024-01-02").exists()
    # Exact accounting on every day that landed: no failed row_accounting, and it was run.
    assert not any("row_accounting" in line for line in summary.check_lines)
    [line] = [line for line in summary.table().splitlines() if "2024-01-02" in line]
    assert line.startswith("FAILED bronze/orders 2024-01-02: orders/orders_2024-01-02.csv: ")


def test_an_empty_silver_day_from_a_non_empty_bronze_day_fails(landing, defs_for, instance):
    def day_before(row):  # the lines that would be rejected on their file's day left out
        if not row[4].startswith(("1/3/2024 ", "1/4/2024 ")) or not "".join(row).isascii():
            return None
        row[4] = row[4].replace("1/4/2024", "1/3/2024")
        return row

    rewrite(orders_file(landing, "2024-01-04"), day_before)  # every row a late row of the 3rd
    defs, settings = defs_for(landing)
    summary = run_pipeline(defs, settings, instance)

    assert not summary.success
    assert list(summary.failed_days) == ["2024-01-04"]
    [cause] = summary.failed_days["2024-01-04"]
    assert cause.line("2024-01-04").startswith("silver/orders 2024-01-04: silver is empty")
    assert not lake(landing, "gold", "daily_sales", "2024-01-04").exists()
    assert lake(landing, "gold", "daily_sales", "2024-01-03").exists()


def test_a_new_source_with_fewer_days_runs_on_its_own(landing, tmp_path, defs_for, instance):
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    text = (sources / "orders.yaml").read_text()
    (sources / "returns.yaml").write_text(
        text.replace("name: orders", "name: returns", 1).replace(
            "orders/orders_{date}.csv", "returns/returns_{date}.csv"
        )
    )
    (landing / "landing" / "returns").mkdir()
    for day in DAYS[:2]:
        returns = landing / "landing" / "returns" / f"returns_{day}.csv"
        shutil.copy(orders_file(landing, day), returns)
    defs, settings = defs_for(landing, ETL_SOURCES_DIR=str(sources))
    assert days_to_run(defs, settings) == DAYS  # no longer refused for the returns' gaps

    summary = run_pipeline(defs, settings, instance)
    assert summary.success, summary.table()
    assert len(summary.runs) == 2  # days 1-2 with returns, days 3-4 without
    assert summary.not_run == ["returns 2024-01-03 .. 2024-01-04 (2 days)"]
    for day in DAYS:
        assert lake(landing, "gold", "daily_sales", day).exists()
        assert lake(landing, "silver", "returns", day).exists() == (day in DAYS[:2])


def test_select_runs_one_source_and_what_is_built_from_it(landing, defs_for, instance):
    defs, settings = defs_for(landing)
    with pytest.raises(Exception, match="--select nope: no such source"):
        days_to_run(defs, settings, select=["nope"])
    days = days_to_run(defs, settings, select=["customers"])
    summary = run_pipeline(defs, settings, instance, days=days, select=["customers"])
    assert summary.success, summary.table()
    assert summary.layers["silver"].assets == {"silver/customers", "silver/customers_quarantine"}
    assert "bronze" in summary.layers and "gold" not in summary.layers
    assert lake(landing, "bronze", "customers", DAYS[0]).exists()
    assert not (landing / "lake" / "bronze" / "orders").exists()

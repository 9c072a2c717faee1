"""Reprocessing a past day: its landing files replaced, that day run again (with the day
before, whose late rows it holds). Every whole-history mart, the daily marts and the
customers' history must then equal a rebuild from scratch over the same files, exactly. The
incremental side folds the daily aggregates a day at a time, the rebuild in one group."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from etl_assets.assets import gold as gold_assets
from etl_assets.marts.retail import RETAIL_MARTS
from etl_assets.runner import run_pipeline
from etl_assets_tests.conftest import copy_landing

START = "2024-01-29"  # five days over a month's end: the monthly marts get two months
DAYS = ["2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
REPLACED = "2024-01-31"
RERUN = ["2024-01-30", REPLACED]  # the day, and the day before (its late rows)
SOURCES = ("orders", "customers")


def _replace_day(data_dir: Path, other: Path, day: str) -> None:
    """The day's landing files replaced by another sample's files of the same day."""
    for source in SOURCES:
        name = f"{source}/{source}_{day}.csv"
        shutil.copyfile(other / "landing" / name, data_dir / "landing" / name)


def _run(defs_for, data_dir: Path, days: list[str], instance: dg.DagsterInstance) -> None:
    defs, settings = defs_for(data_dir)
    summary = run_pipeline(defs, settings, instance, days=days, log_level="ERROR")
    assert summary.success, summary.table()


def _read(data_dir: Path, layer: str, name: str) -> pd.DataFrame:
    """An asset as the lake holds it: one file, or its days' files in order."""
    path = data_dir / "lake" / layer / name
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return pd.read_parquet(path.with_suffix(".parquet"))


@pytest.fixture(scope="module")
def runs(sample_of, defs_for, tmp_path_factory):
    first = sample_of(days=len(DAYS), rows_per_day=300, seed=11, start=START)
    second = sample_of(days=len(DAYS), rows_per_day=300, seed=12, start=START)
    incremental = copy_landing(first, tmp_path_factory.mktemp("incremental"))
    with (
        dg.DagsterInstance.ephemeral() as instance,  # one instance: it remembers the days
        # the incremental side folds the aggregates a day at a time, the rebuild all at once
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(gold_assets, "AGGREGATE_GROUP_ROWS", 1)
        _run(defs_for, incremental, DAYS, instance)
        folds = {"all days": _fold_metadata(instance)}
        before = {m.name: _read(incremental, "gold", m.name) for m in RETAIL_MARTS}
        before["customers"] = _read(incremental, "silver", "customers")
        _replace_day(incremental, second, REPLACED)
        _run(defs_for, incremental, RERUN, instance)
        folds["rerun"] = _fold_metadata(instance)
        applied = _days_applied(instance)
        _run(defs_for, incremental, DAYS[-1:], instance)  # a daily run of the last day
        folds["daily"] = _fold_metadata(instance)
        assert _days_applied(instance) == 1, "a daily run applies its own snapshot only"

    rebuilt = copy_landing(first, tmp_path_factory.mktemp("rebuilt"))
    _replace_day(rebuilt, second, REPLACED)
    with dg.DagsterInstance.ephemeral() as instance:
        _run(defs_for, rebuilt, DAYS, instance)
    return incremental, rebuilt, before, applied, folds


FOLDING = [m.name for m in RETAIL_MARTS if m.fold is not None]


def _fold_metadata(instance: dg.DagsterInstance) -> dict[str, dict]:
    """Per folding mart, its last materialization's checkpoint figures."""
    figures = {}
    for mart in FOLDING:
        event = instance.get_latest_materialization_event(dg.AssetKey(["gold", mart]))
        metadata = event.asset_materialization.metadata
        figures[mart] = {
            k: v.value for k, v in metadata.items() if "checkpoint" in k or k == "days_folded"
        }
    return figures


def _days_applied(instance: dg.DagsterInstance) -> int:
    event = instance.get_latest_materialization_event(dg.AssetKey(["silver", "customers"]))
    return event.asset_materialization.metadata["days_applied"].value


@pytest.fixture(scope="module")
def defs_for():
    from etl_assets.definitions import build_definitions
    from etl_assets_tests.conftest import settings_for

    def _build(data_dir: Path):
        settings = settings_for(data_dir)
        return build_definitions(settings), settings

    return _build


@pytest.mark.parametrize("mart", [m.name for m in RETAIL_MARTS])
def test_every_mart_equals_a_rebuild_after_a_day_is_reprocessed(runs, mart):
    incremental, rebuilt, before, _, _ = runs
    after = _read(incremental, "gold", mart)
    pd.testing.assert_frame_equal(after, _read(rebuilt, "gold", mart), check_exact=True)
    assert not after.equals(before[mart]), "the replaced day changed nothing: no test"


@pytest.mark.parametrize("asset", ["customers", "customers_quarantine"])
def test_the_customers_history_equals_a_rebuild(runs, asset):
    incremental, rebuilt, before, applied, _ = runs
    after = _read(incremental, "silver", asset)
    pd.testing.assert_frame_equal(after, _read(rebuilt, "silver", asset), check_exact=True)
    if asset == "customers":
        assert not after.equals(before["customers"]), "the replaced day changed nothing"
        # carried forward, not rebuilt: the run's days (the replaced one and the one before,
        # whose bronze it rewrote too) and the days after them, not the first day
        assert applied == len([d for d in DAYS if d >= RERUN[0]]) < len(DAYS)


@pytest.mark.parametrize("mart", FOLDING)
def test_a_daily_run_resumes_from_the_checkpoint_a_reprocessed_day_discards(runs, mart):
    """The folds keep every day before the latest day's month (January here) in a checkpoint:
    the reprocessed January days make the rerun fold every day again, and the daily run after
    it folds February's days only. Both give the rebuild's marts (the test above)."""
    folds = runs[-1]
    first, rerun, daily = folds["all days"][mart], folds["rerun"][mart], folds["daily"][mart]
    assert first["checkpoint_saved_through"] == "2024-01-31"
    assert first["days_folded"] == len(DAYS)
    assert "2024-01-30, 2024-01-31 re-materialized" in rerun["checkpoint_discarded"]
    assert rerun["checkpoint_resumed_through"] == ""
    assert rerun["days_folded"] == len(DAYS)
    assert rerun["checkpoint_saved_through"] == "2024-01-31"
    assert daily["checkpoint_resumed_through"] == "2024-01-31"
    assert daily["checkpoint_discarded"] == ""
    assert daily["days_folded"] == 2  # 2024-02-01 and 2024-02-02

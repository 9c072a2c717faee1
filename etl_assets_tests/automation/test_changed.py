"""`etl-assets run --changed` and the staleness it reads: a replaced landing file re-runs
that day and what depends on it, to the lake a from-scratch run gives; a rule edit marks
silver and downstream unsynced, bronze not; nothing changed does nothing."""

from __future__ import annotations

import shutil

import dagster as dg
import pandas as pd
import yaml

from etl_assets.automation.changed import _resolver, plan_changed
from etl_assets.cli.run_changed import observe_landing, report, run_changed
from etl_assets.io.lake.checkpoints import CHECKPOINTS_DIR
from etl_assets.runner import run_pipeline
from etl_assets.sources import default_sources_dir
from etl_assets_tests.conftest import SAMPLE_DAYS, copy_landing

LINEAGE_OF_THE_RUN = ["_batch_id", "_ingested_at"]  # differ between any two runs
DAY = "2024-01-02"


def _lake(data_dir) -> dict[str, pd.DataFrame]:
    frames = {}
    for path in sorted((data_dir / "lake").rglob("*.parquet")):
        if path.relative_to(data_dir / "lake").parts[0] in ("bronze", CHECKPOINTS_DIR):
            continue  # bronze carries the run's batch id and time in every row; checkpoints
            # are the folds' own state, compared through the marts they give
        frame = pd.read_parquet(path)
        frames[str(path.relative_to(data_dir))] = frame.drop(
            columns=[c for c in LINEAGE_OF_THE_RUN if c in frame.columns]
        )
    return frames


def _full_run(defs, settings, instance):
    observe_landing(defs, settings, instance)
    assert run_pipeline(defs, settings, instance).success


def _materialized(instance, run_ids) -> set[tuple[str, str | None]]:
    done = set()
    for run_id in run_ids:
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records:
            event = record.event_log_entry.dagster_event
            key = event.asset_key.to_user_string()
            done.add((key, event.partition))
    return done


def test_a_replaced_file_reruns_its_day_and_what_depends_on_it(
    tmp_path, sample_of, defs_for, fresh_breakers
):
    sample = sample_of(days=SAMPLE_DAYS, rows_per_day=300, seed=5)
    data_dir = copy_landing(sample, tmp_path / "data")
    defs, settings = defs_for(data_dir)
    with dg.instance_for_test() as instance:
        _full_run(defs, settings, instance)
        landing_key = dg.AssetKey(["landing", "orders"])
        before = {
            d: instance.get_latest_data_version_record(landing_key, True, d).storage_id
            for d in ("2024-01-01", DAY, "2024-01-03")
        }
        # A corrected file: the last two order lines withdrawn.
        path = data_dir / "landing" / "orders" / f"orders_{DAY}.csv"
        path.write_bytes(path.read_bytes().rstrip(b"\n").rsplit(b"\n", 2)[0] + b"\n")

        plan, summaries = run_changed_after_observing(defs, settings, instance)
        after = {
            d: instance.get_latest_data_version_record(landing_key, True, d).storage_id
            for d in before
        }
        assert [d for d in before if before[d] != after[d]] == [DAY]  # only that day observed
        assert all(s.success for s in summaries)
        done = _materialized(instance, [s.run_id for s in summaries])
        # Silver D-1 reads file D's late rows (late_arrival_days: 1): it follows, as the
        # whole-history marts do; nothing of the other source or the other days.
        assert done == {
            ("bronze/orders", DAY),
            ("silver/orders", "2024-01-01"),
            ("silver/orders", DAY),
            ("silver/orders_quarantine", "2024-01-01"),
            ("silver/orders_quarantine", DAY),
            ("gold/daily_sales", "2024-01-01"),
            ("gold/daily_sales", DAY),
            ("gold/customer_daily", "2024-01-01"),  # the whole-history marts' daily aggregates
            ("gold/customer_daily", DAY),
            ("gold/product_daily", "2024-01-01"),
            ("gold/product_daily", DAY),
            ("gold/customer_rfm", None),
            ("gold/product_performance", None),
            ("gold/cohort_retention", None),
        }
        again, nothing = run_changed_after_observing(defs, settings, instance)
        assert nothing == [] and report(again, nothing).count("\n") == 0
        assert report(again, nothing).startswith("nothing changed")

    # The lake equals a from-scratch run on the new files.
    scratch = copy_landing(data_dir, tmp_path / "scratch")
    scratch_defs, scratch_settings = defs_for(scratch)
    with dg.instance_for_test() as instance:
        _full_run(scratch_defs, scratch_settings, instance)
    ours, theirs = _lake(data_dir), _lake(scratch)
    assert ours.keys() == theirs.keys() and len(ours) > 5
    for name, frame in ours.items():
        pd.testing.assert_frame_equal(frame, theirs[name])


def run_changed_after_observing(defs, settings, instance):
    observe_landing(defs, settings, instance)
    return run_changed(defs, instance, log_level="ERROR")


def test_a_rule_edit_marks_silver_and_downstream_unsynced_not_bronze(
    tmp_path, sample_of, defs_for, fresh_breakers
):
    sample = sample_of(days=SAMPLE_DAYS, rows_per_day=300, seed=5)
    data_dir = copy_landing(sample, tmp_path / "data")
    sources = tmp_path / "sources"
    shutil.copytree(default_sources_dir(), sources)
    defs, settings = defs_for(data_dir, ETL_SOURCES_DIR=str(sources))
    with dg.instance_for_test() as instance:
        _full_run(defs, settings, instance)
        declaration = sources / "orders.yaml"
        text = yaml.safe_load(declaration.read_text())
        # A description edit changes no row: nothing becomes unsynced.
        text["description"] = "Orders, described differently."
        declaration.write_text(yaml.safe_dump(text, sort_keys=False))
        edited, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources))
        assert plan_changed(edited, instance).runs == []
        # A rule edit: silver and what is below it are unsynced, bronze is not.
        column = next(c for c in text["columns"] if c["name"] == "UnitPrice")
        column["min"] = 0.01
        declaration.write_text(yaml.safe_dump(text, sort_keys=False))
        edited, _ = defs_for(data_dir, ETL_SOURCES_DIR=str(sources))
        resolver = _resolver(instance, edited.resolve_asset_graph())

        def status(path, partition=DAY):
            return resolver.get_status(dg.AssetKey(path.split("/")), partition).value

        assert status("bronze/orders") == "FRESH"
        assert status("silver/orders") == "STALE"
        assert status("silver/orders_quarantine") == "STALE"
        assert status("gold/daily_sales") == "STALE"
        assert status("gold/customer_rfm", None) == "STALE"
        assert status("silver/customers", None) == "FRESH"
        causes = resolver.get_stale_causes(dg.AssetKey(["silver", "orders"]), DAY)
        assert [c.reason for c in causes] == ["has a new code version"]
        plan = plan_changed(edited, instance)
        assert not any(k.path[0] == "bronze" for k in plan.targets)

"""The landing sensor on a real landing zone, evaluated as the daemon does, and its runs."""

from __future__ import annotations

import hashlib
import os
import shutil

import dagster as dg
import pandas as pd
import pytest

from etl_assets.automation.sensors import LANDING_FILE_TAG, LANDING_SENSOR, LANDING_SHA_TAG
from etl_assets.cli.run_changed import observe_landing
from etl_assets.runner import run_pipeline
from etl_assets_tests.automation.conftest import DAY_AFTER_SAMPLE, evaluate_sensor, execute

ORDERS_DAY_ASSETS = [
    "bronze/orders",
    "gold/customer_daily",  # the whole-history marts' daily aggregates follow the day
    "gold/daily_sales",
    "gold/product_daily",
    "silver/orders",
    "silver/orders_quarantine",
]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def two_ticks(defs, instance, cursor=None):
    first = evaluate_sensor(defs, instance, LANDING_SENSOR, cursor)
    second = evaluate_sensor(defs, instance, LANDING_SENSOR, first.cursor or cursor)
    return first, second


def selection(request: dg.RunRequest) -> list[str]:
    return [key.to_user_string() for key in request.asset_selection]


def test_every_landed_file_asks_once_for_a_run_of_its_day(data_dir, defs_for, persistent_instance):
    defs, _ = defs_for(data_dir)
    first, second = two_ticks(defs, persistent_instance)
    assert first.run_requests == []
    assert "settling" in first.skip_message  # new files wait for a second look

    requests = {r.tags[LANDING_FILE_TAG]: r for r in second.run_requests}
    assert sorted(requests) == [
        "customers/customers_2024-01-01.csv",
        "customers/customers_2024-01-02.csv",
        "customers/customers_2024-01-03.csv",
        "orders/orders_2024-01-01.csv",
        "orders/orders_2024-01-02.csv",
        "orders/orders_2024-01-03.csv",
        "products/products.csv",
    ]
    orders = requests["orders/orders_2024-01-02.csv"]
    checksum = sha256(data_dir / "landing" / "orders" / "orders_2024-01-02.csv")
    assert orders.run_key == f"orders/orders_2024-01-02.csv@{checksum}"
    assert orders.tags[LANDING_SHA_TAG] == checksum
    assert orders.partition_key == "2024-01-02"
    assert selection(orders) == ORDERS_DAY_ASSETS
    assert selection(requests["customers/customers_2024-01-01.csv"]) == ["bronze/customers"]
    products = requests["products/products.csv"]
    assert products.partition_key is None
    assert selection(products) == [
        "bronze/products",
        "silver/products",
        "silver/products_quarantine",
    ]

    third = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, second.cursor)
    assert third.run_requests == []
    assert "no new or changed landing file" in third.skip_message


def test_sensor_runs_materialize_the_day_up_to_gold(
    data_dir, defs_for, persistent_instance, instance
):
    defs, _ = defs_for(data_dir)
    _, tick = two_ticks(defs, persistent_instance)
    by_file = {r.tags[LANDING_FILE_TAG]: r for r in tick.run_requests}
    for name in ("products/products.csv", "orders/orders_2024-01-02.csv"):
        result = execute(defs, instance, by_file[name])
        assert result.success, name
    gold = pd.read_parquet(data_dir / "lake" / "gold" / "daily_sales" / "2024-01-02.parquet")
    assert len(gold) > 0 and (gold["order_date"] == pd.Timestamp("2024-01-02")).all()
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["row_accounting"]  # the day's checks ran with it


def test_the_sensor_decides_from_what_bronze_ingested_not_from_its_cursor(
    data_dir, defs_for, persistent_instance, land_next_day
):
    """What `make run` leaves behind, then the sensor switched on (no cursor): nothing runs
    again; a file corrected while the sensor was off runs once, with the day that landed."""
    defs, settings = defs_for(data_dir)
    observe_landing(defs, settings, persistent_instance)
    assert run_pipeline(defs, settings, persistent_instance).success
    unchanged = two_ticks(defs, persistent_instance)
    assert [t.run_requests for t in unchanged] == [[], []]
    assert "no new or changed landing file" in unchanged[1].skip_message

    corrected = data_dir / "landing" / "orders" / "orders_2024-01-02.csv"
    corrected.write_bytes(corrected.read_bytes().rsplit(b"\n", 3)[0] + b"\n")
    land_next_day()
    first, second = two_ticks(defs, persistent_instance)  # a reset cursor, like a new one
    assert first.run_requests == []  # changed files settle one look, as new ones do
    assert sorted(r.tags[LANDING_FILE_TAG] for r in second.run_requests) == [
        f"customers/customers_{DAY_AFTER_SAMPLE}.csv",
        "orders/orders_2024-01-02.csv",
        f"orders/orders_{DAY_AFTER_SAMPLE}.csv",
    ]
    # The tick recorded the new data version of that day only (and the new day's).
    changed = {
        e.partition for e in [*first.asset_events, *second.asset_events]
        if e.asset_key == dg.AssetKey(["landing", "orders"])
    }  # fmt: skip
    assert changed == {"2024-01-02", DAY_AFTER_SAMPLE}


# --- bad input --------------------------------------------------------------------------


def test_malformed_names_are_skipped_with_a_logged_reason(
    data_dir, defs_for, persistent_instance, capsys
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    landing = data_dir / "landing"
    for relative in (
        "orders/orders-2024-01-05.csv",  # wrong separator
        "orders/orders_2024-1-5.csv",  # day not written YYYY-MM-DD
        "orders/orders_2024-13-01.csv",  # no such day
        "orders_2024-01-05.csv",  # right name, wrong folder
    ):
        (landing / relative).write_text("InvoiceNo\n1\n")
    capsys.readouterr()
    first, second = two_ticks(defs, persistent_instance, settled.cursor)
    assert first.run_requests == [] and second.run_requests == []
    log = capsys.readouterr().err
    assert "skipped orders/orders-2024-01-05.csv: name matches no source pattern" in log
    assert "orders/orders_{date}.csv" in log  # the reason names the expected pattern
    assert "skipped orders/orders_2024-1-5.csv: name matches no source pattern" in log
    assert "skipped orders/orders_2024-13-01.csv: '2024-13-01' is not a calendar day" in log
    assert "skipped orders_2024-01-05.csv: name matches no source pattern" in log
    assert log.count("orders-2024-01-05.csv") == 1  # logged once, not on every tick


def test_link_that_resolves_outside_the_landing_directory_is_skipped(
    data_dir, defs_for, persistent_instance, capsys, tmp_path_factory
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    outside = tmp_path_factory.mktemp("outside") / "stolen.csv"
    outside.write_text("InvoiceNo\n1\n")
    (data_dir / "landing" / "orders" / f"orders_{DAY_AFTER_SAMPLE}.csv").symlink_to(outside)
    capsys.readouterr()
    first, second = two_ticks(defs, persistent_instance, settled.cursor)
    assert first.run_requests == [] and second.run_requests == []
    log = capsys.readouterr().err
    assert f"skipped orders/orders_{DAY_AFTER_SAMPLE}.csv: resolves outside the landing" in log
    assert str(outside) in log


def test_half_written_file_waits_until_it_is_complete(
    data_dir, defs_for, persistent_instance, longer_sample
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    complete = (
        longer_sample / "landing" / "orders" / f"orders_{DAY_AFTER_SAMPLE}.csv"
    ).read_bytes()
    final = data_dir / "landing" / "orders" / f"orders_{DAY_AFTER_SAMPLE}.csv"
    partial = final.with_name(final.name + ".part")

    partial.write_bytes(complete[: len(complete) // 3])  # a writer using a temporary name
    tick = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, settled.cursor)
    assert tick.run_requests == [] and "temporary name" in tick.skip_message
    partial.rename(final)  # ...moved into place, but the writer appends again: still changing
    cursor = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, settled.cursor).cursor
    with final.open("ab") as handle:
        handle.write(complete[len(complete) // 3 :])
    growing = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, cursor)
    assert growing.run_requests == [] and "settling" in growing.skip_message
    [request] = evaluate_sensor(
        defs, persistent_instance, LANDING_SENSOR, growing.cursor
    ).run_requests
    assert request.run_key == f"orders/{final.name}@{hashlib.sha256(complete).hexdigest()}"


def test_file_replaced_with_different_content_runs_again_with_a_new_run_key(
    data_dir, defs_for, persistent_instance
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    path = data_dir / "landing" / "orders" / "orders_2024-01-02.csv"
    before = sha256(path)
    path.write_bytes(path.read_bytes())  # rewritten with the same bytes
    _, touched = two_ticks(defs, persistent_instance, settled.cursor)
    [same] = touched.run_requests  # the same run key: the daemon launches nothing
    assert same.run_key == f"orders/orders_2024-01-02.csv@{before}"

    lines = path.read_bytes().splitlines(keepends=True)
    replacement = path.with_name("incoming.tmp")
    replacement.write_bytes(b"".join(lines[:-5]))  # a corrected file, five lines shorter
    os.replace(replacement, path)
    _, replaced = two_ticks(defs, persistent_instance, touched.cursor)
    [request] = replaced.run_requests
    after = sha256(path)
    assert after != before
    assert request.run_key == f"orders/orders_2024-01-02.csv@{after}"
    assert request.partition_key == "2024-01-02"


def test_vanished_landing_directory_skips_and_keeps_the_cursor(
    data_dir, defs_for, persistent_instance, capsys
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    landing = data_dir / "landing"
    moved = data_dir / "landing-unmounted"
    landing.rename(moved)
    gone = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, settled.cursor)
    assert gone.run_requests == [] and gone.cursor == settled.cursor  # kept as it was
    assert "does not exist" in gone.skip_message and str(landing) in gone.skip_message
    assert "does not exist; nothing to do, the cursor is kept" in capsys.readouterr().err
    moved.rename(landing)
    back = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, settled.cursor)
    assert back.run_requests == []  # every file is still known


def test_removed_folder_runs_nothing_and_its_copies_reuse_their_run_keys(
    data_dir, defs_for, persistent_instance, tmp_path_factory
):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    customers = data_dir / "landing" / "customers"
    keys = {r.tags[LANDING_FILE_TAG]: r.run_key for r in settled.run_requests}
    kept = shutil.copytree(customers, tmp_path_factory.mktemp("kept") / "customers")
    shutil.rmtree(customers)
    gone = evaluate_sensor(defs, persistent_instance, LANDING_SENSOR, settled.cursor)
    assert gone.run_requests == []
    shutil.copytree(kept, customers)  # restored: new files with the same bytes
    _, back = two_ticks(defs, persistent_instance, gone.cursor)
    restored = {r.tags[LANDING_FILE_TAG]: r.run_key for r in back.run_requests}
    assert sorted(restored) == sorted(k for k in keys if k.startswith("customers/"))
    assert all(key == keys[name] for name, key in restored.items())  # the daemon skips them


@pytest.mark.parametrize("day", ["2023-12-31", "2999-01-01"])
def test_days_outside_the_partitions_never_run(data_dir, defs_for, persistent_instance, day):
    defs, _ = defs_for(data_dir)
    _, settled = two_ticks(defs, persistent_instance)
    (data_dir / "landing" / "orders" / f"orders_{day}.csv").write_text("InvoiceNo\n1\n")
    first, second = two_ticks(defs, persistent_instance, settled.cursor)
    assert first.run_requests == [] and second.run_requests == []

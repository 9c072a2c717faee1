"""The prod profile: gold marts published to the Postgres warehouse, against a real server.

Each test writes under its own schema prefix (``<pg_schema>_gold`` ...), dropped afterwards.
Without a server the tests skip, except under CI=true where they fail (postgres_fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.warehouse.reading import read_table
from etl_assets.io.warehouse.tables import TableRef
from etl_assets.resource_keys import WAREHOUSE_IO_MANAGER
from etl_assets.runner import run_pipeline
from etl_assets.settings import DEV_PII_KEY, SettingsError, load_settings
from etl_assets_tests import postgres_fixtures
from etl_assets_tests.postgres_fixtures import query

PROD_KEY = "a-prod-secret-for-tests-only"

postgres_url = postgres_fixtures.postgres_url
pg_schema = postgres_fixtures.pg_schema

MARTS = ("daily_sales", "customer_rfm", "product_performance", "cohort_retention")


def _lake_daily_sales(lake: Path) -> pd.DataFrame:
    files = sorted((lake / "gold" / "daily_sales").glob("*.parquet"))
    assert files, "gold/daily_sales has no lake file"
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values(["order_date", "country"]).reset_index(drop=True)
    frame["order_date"] = pd.to_datetime(frame["order_date"]).astype("datetime64[ns]")
    frame["country"] = frame["country"].astype("string[pyarrow]")
    return frame


@pytest.fixture
def prod(defs_for, data_dir, postgres_url, pg_schema, monkeypatch):
    """Prod-profile definitions over the sample data, publishing under `<pg_schema>_*`."""
    monkeypatch.setenv("ETL_WAREHOUSE_URL", postgres_url)  # read by the resource (EnvVar)
    monkeypatch.setenv("ETL_PII_HASH_KEY", PROD_KEY)
    defs, settings = defs_for(
        data_dir,
        ETL_ENV="prod",
        ETL_PII_HASH_KEY=PROD_KEY,
        ETL_WAREHOUSE_URL=postgres_url,
        ETL_WAREHOUSE_SCHEMA_PREFIX=f"{pg_schema}_",
    )
    return defs, settings, f"{pg_schema}_gold"


def test_prod_publishes_gold_to_the_warehouse_without_duplicates(prod, instance, postgres_url):
    defs, settings, gold_schema = prod
    summary = run_pipeline(defs, settings, instance, raise_on_error=True)
    assert summary.success

    lake = _sorted(_lake_daily_sales(Path(settings.lake_url)))
    warehouse = PostgresWarehouse(url=postgres_url)
    try:
        published = read_table(warehouse, TableRef(gold_schema, "daily_sales"))
        assert published is not None
        pd.testing.assert_frame_equal(
            _sorted(published)[list(lake.columns)], lake, check_dtype=False
        )
        for mart in MARTS[1:]:
            count = query(postgres_url, f'SELECT count(*) FROM "{gold_schema}"."{mart}"')[0][0]
            assert count > 0, mart

        # Re-running one day replaces that day: same rows, no duplicates.
        day = summary.first_day
        again = run_pipeline(defs, settings, instance, days=[day], raise_on_error=True)
        assert again.success
        republished = read_table(warehouse, TableRef(gold_schema, "daily_sales"))
        pd.testing.assert_frame_equal(
            _sorted(republished)[list(lake.columns)], lake, check_dtype=False
        )
    finally:
        warehouse.close()

    event = instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "daily_sales"]))
    metadata = event.asset_materialization.metadata
    assert metadata["table"].value == f"{gold_schema}.daily_sales"
    assert postgres_url not in str(metadata)


def test_prod_defines_the_warehouse_assets(prod):
    defs, _, _ = prod
    graph = defs.resolve_asset_graph()
    sales = graph.get(dg.AssetKey(["warehouse", "daily_sales"]))
    assert sales.group_name == "warehouse"
    assert defs.get_assets_def(sales.key).op.pool == "postgres"
    assert sales.partitions_def is not None
    assert sales.backfill_policy == dg.BackfillPolicy.single_run()
    assert {f"warehouse/{m}" for m in MARTS} <= {
        k.to_user_string() for k in graph.get_all_asset_keys()
    }
    assert WAREHOUSE_IO_MANAGER in defs.resources


def test_local_profile_has_no_warehouse(defs_for, data_dir):
    defs, settings = defs_for(data_dir)
    assert not settings.warehouse
    keys = {k.path[0] for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "warehouse" not in keys
    assert "warehouse" not in defs.resources


def test_prod_without_warehouse_url_fails_at_load_naming_the_variable(tmp_path):
    with pytest.raises(SettingsError, match="ETL_WAREHOUSE_URL"):
        load_settings({"ETL_DATA_DIR": str(tmp_path), "ETL_ENV": "prod"})


@pytest.mark.parametrize(("key", "words"), [(None, "is not set"), (DEV_PII_KEY, "development")])
def test_prod_refuses_to_load_without_a_pii_key_of_its_own(tmp_path, key, words):
    environ = {
        "ETL_DATA_DIR": str(tmp_path),
        "ETL_ENV": "prod",
        "ETL_WAREHOUSE_URL": "postgresql://etl@db.invalid/warehouse",
    }
    if key:
        environ["ETL_PII_HASH_KEY"] = key
    with pytest.raises(SettingsError, match=f"ETL_PII_HASH_KEY.*{words}.*Set it") as raised:
        load_settings(environ)
    assert DEV_PII_KEY not in str(raised.value)  # the message never echoes a key
    # local keeps the development key (with its loud warning on use)
    assert load_settings({**environ, "ETL_ENV": "local"}).env == "local"


def test_prod_code_location_does_not_load_without_the_key(tmp_path):
    env = {
        **os.environ,
        "ETL_DATA_DIR": str(tmp_path),
        "ETL_ENV": "prod",
        "ETL_WAREHOUSE_URL": "postgresql://etl@db.invalid/warehouse",
        "DAGSTER_HOME": str(tmp_path),
    }
    env.pop("ETL_PII_HASH_KEY", None)
    loaded = subprocess.run(
        [sys.executable, "-c", "import etl_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode != 0
    assert "ETL_ENV=prod needs ETL_PII_HASH_KEY" in loaded.stderr


def test_prod_silver_publish_is_optional(defs_for, data_dir):
    url = "postgresql://etl@db.invalid:5432/warehouse"
    defs, _ = defs_for(
        data_dir,
        ETL_ENV="prod",
        ETL_WAREHOUSE_URL=url,
        ETL_WAREHOUSE_SILVER="true",
        ETL_PII_HASH_KEY=PROD_KEY,
    )
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert dg.AssetKey(["warehouse", "orders"]) in keys

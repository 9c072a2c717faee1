"""`connector: postgres`: a source table extracted incrementally by watermark, against a real
server, each test in its own schema (skips without a server; fails under CI=true)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from psycopg2 import sql

from etl_assets.io.lake import lake_path
from etl_assets.sample.postgres import seed_customers
from etl_assets.sources import SourceDeclarationError, load_source
from etl_assets_tests import postgres_fixtures
from etl_assets_tests.postgres_fixtures import query

postgres_url = postgres_fixtures.postgres_url
pg_schema = postgres_fixtures.pg_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/postgres_customers"
KEY = dg.AssetKey(["bronze", "crm_customers"])


def _declaration(directory: Path, table: str) -> Path:
    text = (EXAMPLE / "crm_customers.yaml").read_text(encoding="utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "crm_customers.yaml"
    target.write_text(text.replace("table: public.customers", f"table: {table}"), "utf-8")
    return target


@pytest.fixture
def crm(tmp_path, data_dir, defs_for, postgres_url, pg_schema, monkeypatch):
    customers, changed = seed_customers(data_dir / "landing", postgres_url, schema=pg_schema)
    assert customers == changed > 0
    _declaration(tmp_path / "sources", f"{pg_schema}.customers")
    monkeypatch.setenv("ETL_CRM_URL", postgres_url)  # read at run time through dg.EnvVar
    defs, settings = defs_for(
        data_dir, ETL_SOURCES_DIR=str(tmp_path / "sources"), ETL_CRM_URL=postgres_url
    )
    return defs, settings, customers


def _materialize(defs: dg.Definitions, instance) -> dict:
    result = dg.materialize([defs.get_assets_def(KEY)], resources=defs.resources, instance=instance)
    assert result.success
    return result.asset_materializations_for_node(result.all_node_events[0].node_name)[0].metadata


def _bronze(settings) -> pd.DataFrame:
    return pd.read_parquet(lake_path(settings.lake_url, KEY).path)


def test_extracts_incrementally_by_watermark(crm, instance, postgres_url, pg_schema):
    defs, settings, customers = crm
    first = _materialize(defs, instance)
    bronze = _bronze(settings)
    assert len(bronze) == customers == first["rows_extracted"].value
    assert list(bronze.columns[:4]) == ["customer_id", "email", "country", "updated_at"]
    assert {"_source_file", "_batch_id", "_ingested_at", "_row_number"} <= set(bronze.columns)
    assert all(str(bronze[c].dtype).startswith("string") for c in bronze.columns[:4])
    newest = query(
        postgres_url,
        sql.SQL("SELECT max(updated_at)::text FROM {}").format(
            sql.Identifier(pg_schema, "customers")
        ),
    )[0][0]
    assert first["watermark"].value == newest

    # Nothing changed: nothing read, the same bronze.
    second = _materialize(defs, instance)
    assert second["rows_extracted"].value == 0
    assert second["watermark"].value == newest
    pd.testing.assert_frame_equal(_bronze(settings), bronze)

    # Two customers change: exactly they are read, appended as a new batch.
    query(
        postgres_url,
        sql.SQL(
            "UPDATE {} SET country = 'Iceland', updated_at = clock_timestamp() "
            "WHERE customer_id IN (SELECT customer_id FROM {} ORDER BY customer_id LIMIT 2)"
        ).format(sql.Identifier(pg_schema, "customers"), sql.Identifier(pg_schema, "customers")),
    )
    third = _materialize(defs, instance)
    assert third["rows_extracted"].value == 2
    assert third["previous_watermark"].value == newest
    assert third["watermark"].value > newest
    grown = _bronze(settings)
    assert len(grown) == customers + 2
    assert (grown.tail(2)["country"] == "Iceland").all()
    assert grown["_batch_id"].nunique() == 2


def test_reseeding_only_touches_changed_rows(data_dir, postgres_url, pg_schema):
    customers, changed = seed_customers(data_dir / "landing", postgres_url, schema=pg_schema)
    assert changed == customers
    assert seed_customers(data_dir / "landing", postgres_url, schema=pg_schema) == (customers, 0)


def test_declaration_validation(tmp_path):
    spec = load_source(_declaration(tmp_path, "crm.customers"))
    assert spec.connector == "postgres"
    assert (spec.postgres.schema, spec.postgres.table) == ("crm", "customers")
    assert spec.postgres.watermark == "updated_at" and spec.postgres.url_env == "ETL_CRM_URL"
    text = (tmp_path / "crm_customers.yaml").read_text()
    for old, new, words in [
        ("watermark: updated_at", "watermark: changed", "postgres.watermark"),
        ("url_env: ETL_CRM_URL", "url_env: CRM", "ETL_<DB>_URL"),
        ("table: crm.customers", "table: a.b.c", "schema.table"),
        ("type: none", "type: daily", "partitioning: {type: none}"),
        ("format: json", "format: csv", "reads rows as records"),
    ]:
        bad = tmp_path / "bad" / "crm_customers.yaml"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text(text.replace(old, new))
        with pytest.raises(SourceDeclarationError, match=words.replace("{", r"\{")):
            load_source(bad)

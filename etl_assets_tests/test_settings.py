"""The environment profile is read once, typed, with clear errors for bad values."""

from pathlib import Path

import pytest

from etl_assets.settings import SettingsError, load_settings


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.env == "local"
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.landing_dir == settings.data_dir / "landing"
    assert settings.lake_url == str(settings.data_dir / "lake")
    assert settings.partitions_start == "2024-01-01"
    assert not settings.pii_key_from_env


def test_partitions_begin_where_the_landed_data_begins(tmp_path):
    orders, customers = tmp_path / "landing" / "orders", tmp_path / "landing" / "customers"
    orders.mkdir(parents=True)
    customers.mkdir()
    (orders / "orders_2025-03-04.csv").write_text("x\n")
    (customers / "customers_2025-03-02.csv").write_text("x\n")
    (orders / "notes.txt").write_text("x\n")
    assert load_settings({"ETL_DATA_DIR": str(tmp_path)}).partitions_start == "2025-03-02"
    # the sample's manifest says it first; ETL_PARTITIONS_START, when set, wins
    (tmp_path / "landing" / "manifest.json").write_text('{"start": "2025-02-01"}')
    assert load_settings({"ETL_DATA_DIR": str(tmp_path)}).partitions_start == "2025-02-01"
    environ = {"ETL_DATA_DIR": str(tmp_path), "ETL_PARTITIONS_START": "2024-06-01"}
    assert load_settings(environ).partitions_start == "2024-06-01"


def test_every_variable_is_read(tmp_path):
    settings = load_settings(
        {
            "ETL_ENV": "prod",
            "ETL_DATA_DIR": str(tmp_path),
            "ETL_LAKE_URL": "memory://lake",
            "ETL_SOURCES_DIR": str(tmp_path / "sources"),
            "ETL_PARTITIONS_START": "2023-06-01",
            "ETL_PII_HASH_KEY": "secret",
            "ETL_WAREHOUSE_URL": "postgresql://etl:pw@db/warehouse",
            "ETL_WAREHOUSE_SCHEMA_PREFIX": "dev_",
            "ETL_WAREHOUSE_SILVER": "true",
        }
    )
    assert settings.env == "prod" and settings.lake_url == "memory://lake"
    assert settings.warehouse and settings.warehouse_silver
    assert settings.warehouse_schema_prefix == "dev_"
    assert "pw" not in repr(settings)
    assert settings.sources_dir == Path(tmp_path / "sources").resolve()
    assert settings.partitions_start == "2023-06-01" and settings.pii_key_from_env


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [("ETL_ENV", "staging", "use one of: local, prod"), ("ETL_PARTITIONS_START", "soon", "YYYY")],
)
def test_bad_values_say_what_to_do(variable, value, words):
    with pytest.raises(SettingsError, match=words):
        load_settings({variable: value})


def test_pii_key_value_never_reaches_resource_config(tmp_path):
    from etl_assets.resources import pii_key_resource

    settings = load_settings({"ETL_DATA_DIR": str(tmp_path), "ETL_PII_HASH_KEY": "s3cret"})
    resource = pii_key_resource(settings)
    assert "s3cret" not in repr(resource._get_non_default_public_field_values())

"""Code versions follow what decides an asset's content, and nothing else."""

from __future__ import annotations

from dataclasses import replace

from etl_assets.assets.code_versions import (
    bronze_code_version,
    gold_code_version,
    silver_code_version,
)
from etl_assets.marts.retail import retail_marts
from etl_assets.sources import load_sources


def _with_column(spec, name, **changes):
    columns = tuple(replace(c, **changes) if c.name == name else c for c in spec.columns)
    return replace(spec, columns=columns)


def test_a_column_description_changes_no_code_version():
    sources = load_sources()
    orders = sources["orders"]
    described = _with_column(orders, "Quantity", description="a different description")
    assert bronze_code_version(described) == bronze_code_version(orders)
    assert silver_code_version(described) == silver_code_version(orders)


def test_reading_fields_change_the_bronze_version():
    orders = load_sources()["orders"]
    assert bronze_code_version(replace(orders, delimiter=";")) != bronze_code_version(orders)
    assert bronze_code_version(replace(orders, encoding="utf-16")) != bronze_code_version(orders)
    aliased = _with_column(orders, "Quantity", aliases=("Qty",))
    assert bronze_code_version(aliased) != bronze_code_version(orders)


def test_a_mart_column_description_changes_no_gold_version_but_its_keys_do():
    sources = load_sources()
    mart = next(m for m in retail_marts(sources) if m.name == "daily_sales")
    other_words = {name: "other words" for name in mart.column_descriptions}
    assert gold_code_version(replace(mart, column_descriptions=other_words), sources) == (
        gold_code_version(mart, sources)
    )
    assert gold_code_version(replace(mart, keys=list(mart.keys)[:1]), sources) != (
        gold_code_version(mart, sources)
    )

"""The code location: assets generated from the declared sources, gold marts, resources."""

from __future__ import annotations

import dagster as dg

from etl_assets.assets.bronze import build_bronze_asset
from etl_assets.assets.common import daily_partitions
from etl_assets.assets.gold import build_gold_assets
from etl_assets.assets.silver import build_silver_assets
from etl_assets.automation.jobs import medallion_job
from etl_assets.resources import build_resources
from etl_assets.settings import Settings, get_settings
from etl_assets.sources import load_sources


def build_definitions(settings: Settings) -> dg.Definitions:
    sources = load_sources(settings.sources_dir)
    partitions = daily_partitions(settings.partitions_start)
    assets: list[dg.AssetsDefinition] = []
    for spec in sources.values():
        assets.append(build_bronze_asset(spec, partitions))
        assets.append(build_silver_assets(spec, partitions))
    if {"orders", "products"} <= sources.keys():  # the retail marts need both
        assets.extend(build_gold_assets(partitions))
    return dg.Definitions(
        assets=assets,
        jobs=[medallion_job()],
        resources=build_resources(settings),
    )


defs = build_definitions(get_settings())

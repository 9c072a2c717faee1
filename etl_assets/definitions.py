"""The code location: assets generated from the declared sources, gold marts, resources."""

from __future__ import annotations

import dagster as dg

from etl_assets.assets.bronze import build_bronze_asset
from etl_assets.assets.code_versions import with_versions
from etl_assets.assets.common import daily_partitions
from etl_assets.assets.gold import build_gold_assets
from etl_assets.assets.landing import build_landing_asset, observable_sources
from etl_assets.assets.silver import build_silver_assets
from etl_assets.assets.warehouse import build_warehouse_assets
from etl_assets.automation.build import build_automation
from etl_assets.marts.retail import retail_marts
from etl_assets.quality.checks.build import build_quality_checks
from etl_assets.quality.checks.freshness import with_gold_freshness
from etl_assets.quiet import silence_dagster_notices
from etl_assets.resources import build_resources
from etl_assets.settings import Settings, SettingsError, get_settings
from etl_assets.sources import SourceDeclarationError, load_sources


def build_definitions(settings: Settings) -> dg.Definitions:
    sources = load_sources(settings.sources_dir, urls=settings.source_urls)
    partitions = daily_partitions(settings.partitions_start, settings.timezone)
    assets: list[dg.AssetsDefinition] = []
    for spec in sources.values():
        assets.append(build_bronze_asset(spec, partitions))
        assets.append(build_silver_assets(spec, partitions))
    marts = retail_marts(sources)  # none unless every source they read is declared
    if marts:
        assets.extend(with_gold_freshness(build_gold_assets(marts, partitions)))
        assets.extend(build_warehouse_assets(settings, partitions, marts))  # prod: to Postgres
    automation = build_automation(settings, list(sources.values()), partitions)
    observed = observable_sources(sources.values())
    landing = [build_landing_asset(spec, partitions) for spec in observed]
    return dg.Definitions(
        assets=[*landing, *automation.attach_conditions(with_versions(assets, sources, marts))],
        asset_checks=build_quality_checks(sources, partitions),
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=automation.sensors,
        executor=automation.executor,
        resources=build_resources(settings),
    )


# Loaded as the code location (code server, run worker, `dagster definitions validate`):
# Dagster's beta/preview notices are not for the user (etl_assets/quiet.py).
silence_dagster_notices()
try:
    defs = build_definitions(get_settings())
except (SourceDeclarationError, SettingsError) as error:
    # The message names the file, the field and what to do; the frames of the declaration
    # reader would only hide it, so the load shows this line and the message.
    raise error.with_traceback(None) from None

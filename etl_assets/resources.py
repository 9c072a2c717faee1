"""Every resource of the code location, built for a profile: the one place that says which
resource sits under which key (etl_assets.resource_keys) in `local` and in `prod`.

Secrets reach resources through dagster.EnvVar, so the UI shows the variable's name, never
its value.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from etl_assets.connectors.alerts import Alerts
from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.http import HttpJsonApi
from etl_assets.connectors.pii_key import PiiKey
from etl_assets.connectors.postgres import WAREHOUSE_URL_VARIABLE, PostgresWarehouse
from etl_assets.connectors.postgres_source import PostgresSource
from etl_assets.io.lake import ParquetLakeIOManager
from etl_assets.io.warehouse import PostgresWarehouseIOManager
from etl_assets.quality.engine.resource import QualityChecks
from etl_assets.resource_keys import (
    ALERTS,
    HTTP,
    LAKE_DAY_BY_DAY,
    LAKE_IO_MANAGER,
    LANDING,
    PII,
    POSTGRES_SOURCE,
    QUALITY_RESOURCE,
    WAREHOUSE_IO_MANAGER,
    WAREHOUSE_RESOURCE,
)
from etl_assets.settings import (
    ALERT_WEBHOOK_VARIABLE,
    DEV_PII_KEY,
    PII_KEY_VARIABLE,
    Settings,
)


def pii_key_resource(settings: Settings) -> PiiKey:
    if settings.pii_key_from_env:
        return PiiKey(key=dg.EnvVar(PII_KEY_VARIABLE))
    return PiiKey(key=DEV_PII_KEY, from_environment=False)


def alerts_resource(settings: Settings) -> Alerts:
    if settings.alert_webhook_from_env:
        return Alerts(webhook_url=dg.EnvVar(ALERT_WEBHOOK_VARIABLE), ui_url=settings.ui_url)
    return Alerts(ui_url=settings.ui_url)


def quality_resources(data_dir: Path) -> dict[str, QualityChecks]:
    return {QUALITY_RESOURCE: QualityChecks(docs_dir=str(data_dir / "quality"))}


def warehouse_resources(settings: Settings) -> dict[str, object]:
    """`warehouse` (connection pool on ETL_WAREHOUSE_URL) and its IO manager."""
    warehouse = PostgresWarehouse(url=dg.EnvVar(WAREHOUSE_URL_VARIABLE))
    return {
        WAREHOUSE_RESOURCE: warehouse,
        WAREHOUSE_IO_MANAGER: PostgresWarehouseIOManager(
            warehouse=warehouse, schema_prefix=settings.warehouse_schema_prefix
        ),
    }


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources of a profile. `local` and `prod` share the lake; prod adds the warehouse."""
    resources: dict[str, object] = {
        LANDING: LandingFiles(base_dir=str(settings.landing_dir)),
        HTTP: HttpJsonApi(),  # sources with connector: http (timeouts, retries: defaults)
        POSTGRES_SOURCE: PostgresSource(),  # connector: postgres (DSN from postgres.url_env)
        LAKE_IO_MANAGER: ParquetLakeIOManager(base_path=settings.lake_url),
        LAKE_DAY_BY_DAY: ParquetLakeIOManager(base_path=settings.lake_url, day_by_day=True),
        PII: pii_key_resource(settings),
        ALERTS: alerts_resource(settings),  # run-failure alerts: log, webhook when set
    }
    if settings.warehouse:
        resources.update(warehouse_resources(settings))
    resources.update(quality_resources(settings.data_dir))
    return resources

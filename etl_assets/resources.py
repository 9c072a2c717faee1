"""Resources chosen by profile, and the PII key.

Secrets reach resources through dagster.EnvVar, so the UI shows the variable's name, never
its value.
"""

from __future__ import annotations

import dagster as dg

from etl_assets.assets.common import LAKE_DAY_BY_DAY, LAKE_IO_MANAGER
from etl_assets.assets.warehouse import warehouse_resources
from etl_assets.automation.alerts import alerts_resource
from etl_assets.connectors.files import LandingFiles
from etl_assets.connectors.http import HttpJsonApi
from etl_assets.connectors.postgres_source import PostgresSource
from etl_assets.io.lake import ParquetLakeIOManager
from etl_assets.settings import DEV_PII_KEY, PII_KEY_VARIABLE, Settings


class PiiKey(dg.ConfigurableResource):
    """The key of the keyed hash (HMAC-SHA256) that replaces PII columns in silver."""

    key: str
    from_environment: bool = True

    def key_bytes(self, log) -> bytes:
        if not self.from_environment:
            log.warning(
                f"!!! {PII_KEY_VARIABLE} is not set: PII is hashed with the PUBLIC development "
                f"key. Hashes are reversible by anyone with the code. Set {PII_KEY_VARIABLE} "
                "to a secret before using real data. !!!"
            )
        return self.key.encode("utf-8")


def pii_key_resource(settings: Settings) -> PiiKey:
    if settings.pii_key_from_env:
        return PiiKey(key=dg.EnvVar(PII_KEY_VARIABLE))
    return PiiKey(key=DEV_PII_KEY, from_environment=False)


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources of a profile. `local` and `prod` share the lake; prod adds the warehouse."""
    resources: dict[str, object] = {
        "landing": LandingFiles(base_dir=str(settings.landing_dir)),
        "http": HttpJsonApi(),  # sources with connector: http (timeouts, retries: defaults)
        "postgres_source": PostgresSource(),  # connector: postgres (DSN from postgres.url_env)
        LAKE_IO_MANAGER: ParquetLakeIOManager(base_path=settings.lake_url),
        LAKE_DAY_BY_DAY: ParquetLakeIOManager(base_path=settings.lake_url, day_by_day=True),
        "pii": pii_key_resource(settings),
        "alerts": alerts_resource(settings),  # run-failure alerts: log, webhook when set
    }
    if settings.warehouse:
        resources.update(warehouse_resources(settings))
    return resources

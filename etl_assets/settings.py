"""The environment profile: every path, name and switch the code location reads, read once.

Only this module looks at environment variables (secrets excepted: resources read those
through dagster.EnvVar so they never show in the UI or the logs).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

PROFILES = ("local", "prod")
# How runs execute their steps (etl_assets/automation/executors.py, docs/scale-out.md).
EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")
# Celery broker and result backend (ETL_EXECUTOR=celery); may carry credentials, so the
# executor reads them through Dagster's `env` config source and they never show in the UI.
CELERY_BROKER_VARIABLE = "ETL_CELERY_BROKER_URL"
CELERY_BACKEND_VARIABLE = "ETL_CELERY_BACKEND_URL"
PII_KEY_VARIABLE = "ETL_PII_HASH_KEY"
# A Slack-compatible incoming-webhook URL for failure alerts; secret, read via dagster.EnvVar.
ALERT_WEBHOOK_VARIABLE = "ETL_ALERT_WEBHOOK_URL"
WAREHOUSE_URL_VARIABLE = "ETL_WAREHOUSE_URL"  # prod: the warehouse DSN (secret)
# Dev default so `make run` works on a fresh machine; every use of it logs a loud warning.
DEV_PII_KEY = "etl-assets-dev-only-key"
# ..._URL variables that configure the platform, never a source's API.
_NOT_SOURCE_URLS = frozenset(
    {
        "ETL_LAKE_URL",
        "ETL_UI_URL",
        "ETL_WAREHOUSE_URL",
        "ETL_ALERT_WEBHOOK_URL",
        CELERY_BROKER_VARIABLE,
        CELERY_BACKEND_VARIABLE,
    }
)


class SettingsError(ValueError):
    """An environment variable holds a value the code location cannot use."""


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    lake_url: str
    sources_dir: Path | None
    partitions_start: str
    pii_key_from_env: bool
    # ETL_..._URL variables: a declaration's `http.url_env` names one to read its source
    # over HTTP (ETL_CATALOGUE_URL for the retail catalogue). Kept out of repr: a URL may
    # carry credentials.
    source_urls: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # Automation: the timezone of the daily partitions and of the 02:00 schedule, the UI
    # address that alerts link to, whether ETL_ALERT_WEBHOOK_URL (a secret) is set, and how
    # often the landing sensor looks at the landing directory.
    timezone: str = "UTC"
    ui_url: str = "http://localhost:3000"
    alert_webhook_from_env: bool = False
    landing_sensor_interval_seconds: int = 30
    # Warehouse (prod): gold marts are also published to Postgres at ETL_WAREHOUSE_URL (a
    # secret, read by the resource via dagster.EnvVar; required in prod). Schema prefix for
    # every warehouse schema; ETL_WAREHOUSE_SILVER=true also publishes silver/orders.
    warehouse: bool = False
    warehouse_schema_prefix: str = ""
    warehouse_silver: bool = False
    # Execution (ETL_EXECUTOR): in_process (default), multiprocess, celery or k8s. Under
    # celery and k8s a backfill runs ETL_BACKFILL_DAYS_PER_RUN days per run (default 1), so
    # days spread over workers or pods. Celery steps go to queue ETL_CELERY_QUEUE; the broker
    # and backend URLs are secrets read by the executor from the environment (the flags say
    # whether they are set).
    executor: str = "in_process"
    backfill_days_per_run: int = 1
    celery_queue: str = "etl_assets"
    celery_broker_from_env: bool = False
    celery_backend_from_env: bool = False

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"


def _read_profile(environ: dict[str, str]) -> str:
    env = environ.get("ETL_ENV", "local").strip() or "local"
    if env not in PROFILES:
        raise SettingsError(f"ETL_ENV={env!r} is not a profile; use one of: {', '.join(PROFILES)}")
    return env


DEFAULT_PARTITIONS_START = "2024-01-01"  # no ETL_PARTITIONS_START and nothing landed yet
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def first_landed_day(landing_dir: Path) -> str | None:
    """The first day of the data under `landing_dir`: the sample manifest's `start`, else the
    earliest YYYY-MM-DD in a file name one folder down (landing/<source>/<file>); None when
    nothing has landed. A listing of file names, no file read: the load stays fast."""
    manifest = landing_dir / "manifest.json"
    try:
        start = json.loads(manifest.read_text(encoding="utf-8")).get("start")
        return dt.date.fromisoformat(start).isoformat()
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    days = []
    try:
        for folder in landing_dir.iterdir():
            if folder.is_dir():
                days.extend(
                    m.group(1) for p in folder.iterdir() if (m := _DAY_IN_NAME.search(p.name))
                )
    except OSError:
        return None
    for day in sorted(days):
        try:
            return dt.date.fromisoformat(day).isoformat()
        except ValueError:
            continue
    return None


def _read_start(environ: dict[str, str], landing_dir: Path) -> str:
    """ETL_PARTITIONS_START, else the first landed day, so the partitions begin where the data
    begins (a deployment sets ETL_PARTITIONS_START: a late file of an earlier day must not
    move its partitions)."""
    start = environ.get("ETL_PARTITIONS_START", "").strip()
    if not start:
        return first_landed_day(landing_dir) or DEFAULT_PARTITIONS_START
    try:
        dt.date.fromisoformat(start)
    except ValueError as exc:
        raise SettingsError(
            f"ETL_PARTITIONS_START={start!r} is not a date; use YYYY-MM-DD"
        ) from exc
    return start


def yesterday_in(timezone: str) -> dt.date:
    """The last complete day in `timezone` (the last daily partition)."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date() - dt.timedelta(days=1)


def _read_timezone(environ: dict[str, str]) -> str:
    name = environ.get("ETL_TIMEZONE", "UTC").strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"ETL_TIMEZONE={name!r} is not a timezone; use an IANA name such as UTC or "
            "Europe/Berlin"
        ) from exc
    return name


def _read_interval(environ: dict[str, str]) -> int:
    text = environ.get("ETL_LANDING_SENSOR_INTERVAL_SECONDS", "30").strip()
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(
            f"ETL_LANDING_SENSOR_INTERVAL_SECONDS={text!r} is not a whole number of seconds >= 1"
        )
    return int(text)


def _read_automation(environ: dict[str, str]) -> dict[str, object]:
    return {
        "timezone": _read_timezone(environ),
        "ui_url": (environ.get("ETL_UI_URL") or "http://localhost:3000").rstrip("/"),
        "alert_webhook_from_env": bool(environ.get(ALERT_WEBHOOK_VARIABLE, "").strip()),
        "landing_sensor_interval_seconds": _read_interval(environ),
    }


def _read_warehouse(environ: dict[str, str]) -> dict[str, object]:
    """Prod publishes to the warehouse and needs ETL_WAREHOUSE_URL; local never does."""
    if _read_profile(environ) != "prod":
        return {}
    if not environ.get(WAREHOUSE_URL_VARIABLE, "").strip():
        raise SettingsError(
            f"ETL_ENV=prod needs {WAREHOUSE_URL_VARIABLE}: the Postgres warehouse the gold "
            f"marts are published to (e.g. {WAREHOUSE_URL_VARIABLE}=postgresql://etl:...@db:5432/"
            "warehouse). Set it, or use ETL_ENV=local (lake only)."
        )
    prefix = environ.get("ETL_WAREHOUSE_SCHEMA_PREFIX", "").strip()
    if prefix and not prefix.replace("_", "").isalnum():
        raise SettingsError(
            f"ETL_WAREHOUSE_SCHEMA_PREFIX={prefix!r}: use letters, digits and underscores only"
        )
    silver = environ.get("ETL_WAREHOUSE_SILVER", "").strip().lower()
    if silver not in ("", "true", "false", "1", "0", "yes", "no"):
        raise SettingsError(f"ETL_WAREHOUSE_SILVER={silver!r} is not true or false")
    return {
        "warehouse": True,
        "warehouse_schema_prefix": prefix,
        "warehouse_silver": silver in ("true", "1", "yes"),
    }


def _check_pii_key(environ: dict[str, str]) -> None:
    """Prod hashes PII with a secret of its own: a missing key, or the public development
    one, stops the load (local keeps the development key, with a loud warning on each use)."""
    if _read_profile(environ) != "prod":
        return
    key = environ.get(PII_KEY_VARIABLE, "").strip()
    if not key or key == DEV_PII_KEY:
        problem = "is not set" if not key else "is the public development key"
        raise SettingsError(
            f"ETL_ENV=prod needs {PII_KEY_VARIABLE}, the secret key of the hash that replaces "
            f"PII columns (emails); it {problem}. Set it to a long random secret from your "
            f"secret store (e.g. {PII_KEY_VARIABLE}=$(openssl rand -hex 32), kept: changing it "
            "changes every hash), or use ETL_ENV=local to try the pipeline."
        )


def _read_execution(environ: dict[str, str]) -> dict[str, object]:
    executor = environ.get("ETL_EXECUTOR", "").strip().lower().replace("-", "_") or "in_process"
    if executor not in EXECUTORS:
        raise SettingsError(
            f"ETL_EXECUTOR={executor!r} is not an executor; use one of: {', '.join(EXECUTORS)}"
        )
    queue = environ.get("ETL_CELERY_QUEUE", "").strip() or "etl_assets"
    if not all(char.isalnum() or char in "._-" for char in queue):
        raise SettingsError(
            f"ETL_CELERY_QUEUE={queue!r}: use letters, digits, '.', '_' and '-' only"
        )
    days = environ.get("ETL_BACKFILL_DAYS_PER_RUN", "").strip() or "1"
    if not days.isdigit() or int(days) < 1:
        raise SettingsError(
            f"ETL_BACKFILL_DAYS_PER_RUN={days!r} is not a whole number of days >= 1"
        )
    return {
        "executor": executor,
        "backfill_days_per_run": int(days),
        "celery_queue": queue,
        "celery_broker_from_env": bool(environ.get(CELERY_BROKER_VARIABLE, "").strip()),
        "celery_backend_from_env": bool(environ.get(CELERY_BACKEND_VARIABLE, "").strip()),
    }


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    data_dir = Path(environ.get("ETL_DATA_DIR", "data")).expanduser().resolve()
    sources_dir = environ.get("ETL_SOURCES_DIR")
    warehouse = _read_warehouse(environ)
    _check_pii_key(environ)
    return Settings(
        env=_read_profile(environ),
        data_dir=data_dir,
        lake_url=environ.get("ETL_LAKE_URL") or str(data_dir / "lake"),
        sources_dir=Path(sources_dir).resolve() if sources_dir else None,
        partitions_start=_read_start(environ, data_dir / "landing"),
        pii_key_from_env=bool(environ.get(PII_KEY_VARIABLE)),
        source_urls=MappingProxyType(
            {
                name: value.strip()
                for name, value in environ.items()
                if name.startswith("ETL_")
                and name.endswith("_URL")
                and name not in _NOT_SOURCE_URLS
                and value.strip()
            }
        ),
        **_read_automation(environ),
        **warehouse,
        **_read_execution(environ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return load_settings()

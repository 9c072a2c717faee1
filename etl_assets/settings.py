"""The environment profile: every path, name and switch the code location reads, read once.

Only this module looks at environment variables (secrets excepted: resources read those
through dagster.EnvVar so they never show in the UI or the logs).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROFILES = ("local", "prod")
PII_KEY_VARIABLE = "ETL_PII_HASH_KEY"
# Dev default so `make run` works on a fresh machine; every use of it logs a loud warning.
DEV_PII_KEY = "etl-assets-dev-only-key"


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

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"


def _read_profile(environ: dict[str, str]) -> str:
    env = environ.get("ETL_ENV", "local").strip() or "local"
    if env not in PROFILES:
        raise SettingsError(f"ETL_ENV={env!r} is not a profile; use one of: {', '.join(PROFILES)}")
    return env


def _read_start(environ: dict[str, str]) -> str:
    start = environ.get("ETL_PARTITIONS_START", "2024-01-01")
    try:
        dt.date.fromisoformat(start)
    except ValueError as exc:
        raise SettingsError(
            f"ETL_PARTITIONS_START={start!r} is not a date; use YYYY-MM-DD"
        ) from exc
    return start


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    data_dir = Path(environ.get("ETL_DATA_DIR", "data")).expanduser().resolve()
    sources_dir = environ.get("ETL_SOURCES_DIR")
    return Settings(
        env=_read_profile(environ),
        data_dir=data_dir,
        lake_url=environ.get("ETL_LAKE_URL") or str(data_dir / "lake"),
        sources_dir=Path(sources_dir).resolve() if sources_dir else None,
        partitions_start=_read_start(environ),
        pii_key_from_env=bool(environ.get(PII_KEY_VARIABLE)),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return load_settings()

"""Declared sources: one YAML file each, validated into `SourceSpec`."""

from etl_assets.sources.folder import (
    check_sources,
    default_sources_dir,
    load_sources,
    resolve_connector,
)
from etl_assets.sources.loading import load_source
from etl_assets.sources.spec import (
    ColumnSpec,
    DerivedSpec,
    SourceDeclarationError,
    SourceSpec,
)

__all__ = [
    "ColumnSpec",
    "DerivedSpec",
    "SourceDeclarationError",
    "SourceSpec",
    "check_sources",
    "default_sources_dir",
    "load_source",
    "load_sources",
    "resolve_connector",
]

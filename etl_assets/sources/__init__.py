"""Declared sources: one YAML file each, validated into `SourceSpec`."""

from etl_assets.sources.spec import (
    ColumnSpec,
    DerivedSpec,
    SourceDeclarationError,
    SourceSpec,
    check_sources,
    load_source,
    load_sources,
    resolve_connector,
)

__all__ = [
    "ColumnSpec",
    "DerivedSpec",
    "SourceDeclarationError",
    "SourceSpec",
    "check_sources",
    "load_source",
    "load_sources",
    "resolve_connector",
]

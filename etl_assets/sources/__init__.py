"""Declared sources: one YAML file each, validated into `SourceSpec`."""

from etl_assets.sources.spec import (
    ColumnSpec,
    DerivedSpec,
    SourceDeclarationError,
    SourceSpec,
    load_source,
    load_sources,
)

__all__ = [
    "ColumnSpec",
    "DerivedSpec",
    "SourceDeclarationError",
    "SourceSpec",
    "load_source",
    "load_sources",
]

"""The model of a declared source: what a YAML declaration holds once validated.

A source is one YAML file in this folder (or in a folder named by ETL_SOURCES_DIR); loading.py
reads and validates it into these frozen dataclasses. No dagster import here: the asset
factories read the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field
from pathlib import Path
from typing import Any

from etl_assets.sources.expectation_spec import (
    SuiteDeclaration,
)
from etl_assets.sources.hooks import HookSpec
from etl_assets.sources.http_spec import HttpSpec
from etl_assets.sources.postgres_spec import PostgresSourceSpec
from etl_assets.sources.rule_spec import RuleSpec

CONNECTORS = ("files", "http", "postgres")
AVAILABLE_CONNECTORS = ("files", "http", "postgres")
FORMATS = ("csv", "json", "parquet")
PARTITIONING_TYPES = ("daily", "none")
COLUMN_TYPES = ("string", "int", "float", "datetime", "bool")
STANDARDISE_OPS = ("trim", "collapse_spaces", "upper", "lower", "title", "country")
PII_METHODS = ("hmac",)
HISTORY_TYPES = ("scd2",)
DERIVED_KINDS = ("starts_with", "in", "product", "is_null", "not_null")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_PLACEHOLDER = "{date}"
DEFAULT_PARTITION_COLUMN = "business_date"


# A column's `description` is documentation: shown in the column schema, it decides no
# row. It takes no part in comparing specs (compare=False), and whatever derives a version
# from a declaration leaves out the fields marked with it (`is_documentation`).
def documentation(empty: Callable[[], Any] = str) -> Any:
    """A dataclass field for descriptions: `empty()` by default, no part of comparing."""
    return field(default_factory=empty, compare=False, metadata={"documentation": True})


def is_documentation(spec_field: Field) -> bool:
    """Whether a dataclass field of a declaration is documentation only (decides no row)."""
    return bool(spec_field.metadata.get("documentation"))


class SourceDeclarationError(ValueError):
    """A declaration is wrong; the message names the file, the field and what is allowed."""

    def __init__(self, file: Path | str, field_path: str, problem: str):
        self.file = str(file)
        self.field_path = field_path
        super().__init__(f"{file}: field '{field_path}': {problem}")


@dataclass(frozen=True)
class ColumnSpec:
    name: str  # header in the landing file
    target: str  # column name in silver
    type: str
    required: bool = False
    formats: tuple[str, ...] = ()  # strptime formats for datetime columns, tried in order
    standardise: tuple[str, ...] = ()
    minimum: float | None = None
    pii: str | None = None
    aliases: tuple[str, ...] = ()  # other header spellings of `name` (case and spaces ignored)
    timezone: str | None = None  # datetime columns: the zone of values written without offset
    description: str = documentation()


@dataclass(frozen=True)
class DerivedSpec:
    name: str
    kind: str
    column: str | None = None
    value: Any = None
    values: tuple[Any, ...] = ()
    factors: tuple[str, ...] = ()
    description: str = documentation()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    file: str
    description: str
    owners: tuple[str, ...]
    connector: str
    format: str
    path: str | None  # files connector: relative to landing/, may hold {date}
    partitioning: str  # "daily" or "none"
    date_column: str | None  # silver column whose day assigns a row to a partition
    partition_column: str  # silver column holding that day (midnight), the partition_expr
    late_arrival_days: int
    columns: tuple[ColumnSpec, ...]
    business_key: tuple[str, ...]
    derived: tuple[DerivedSpec, ...] = ()
    history_tracked: tuple[str, ...] | None = None  # set when silver is a type-2 history
    extra: Mapping[str, Any] = field(default_factory=dict)
    http: HttpSpec | None = None  # connector http, or the switch to it (http.url_env)
    postgres: PostgresSourceSpec | None = None  # connector postgres: table and watermark
    ignore_fields: tuple[str, ...] = ()  # JSON fields known and deliberately not kept
    rules: tuple[RuleSpec, ...] = ()
    silver_hook: HookSpec | None = None  # Python for a rule YAML cannot say
    # the `expectations:` section: declared quality rules per layer (see quality/suites.py)
    expectations: SuiteDeclaration = field(default_factory=SuiteDeclaration)
    encoding: str = "utf-8"  # files: a codec name or "auto"; a byte-order mark decides
    delimiter: str = ","  # CSV: one character or "auto"
    max_reject_rate: float = 0.05  # `quarantine.max_rate`: above it, the day's gold is blocked

    @property
    def is_daily(self) -> bool:
        return self.partitioning == "daily"

    @property
    def is_history(self) -> bool:
        return self.history_tracked is not None

    @property
    def raw_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_raw_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def target_columns(self) -> tuple[str, ...]:
        return tuple(c.target for c in self.columns)

    def column(self, target: str) -> ColumnSpec:
        return next(c for c in self.columns if c.target == target)

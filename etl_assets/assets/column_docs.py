"""The descriptions of the columns of a source's bronze, silver and quarantine assets, for
their `dagster/column_schema`: the declared `description` of a column (bronze and the
quarantine by its name in the file, silver by its `as` name) and of a derived column, and
the pipeline's own words for the columns it writes itself (lineage, reject columns,
partition day, history validity).

Documentation only: nothing here decides a row or a version."""

from collections.abc import Iterable

from etl_assets.sources import ColumnSpec, SourceSpec
from etl_assets.sources.reserved_columns import RESERVED_COLUMN_DESCRIPTIONS
from etl_assets.transforms.silver.scd2 import HISTORY_COLUMN_DESCRIPTIONS

# A column bronze keeps as read although the declaration does not name it.
UNDECLARED = "Not declared: kept in bronze as read; silver ignores it until it is declared."


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _partition_day(spec: SourceSpec) -> str:
    if spec.date_column:
        return f"The day of {spec.date_column} (midnight): the partition the row belongs to."
    return "The day of the landing file the row came in (midnight): its partition."


def _as_read(column: ColumnSpec) -> str:
    return "As read, a string, in clear (PII)." if column.pii else "As read, a string."


def bronze_descriptions(spec: SourceSpec, columns: Iterable[str]) -> dict[str, str]:
    """Every column of a bronze frame: declared, lineage, or kept though undeclared."""
    declared = {c.name: _joined(_as_read(c), c.description) for c in spec.columns}
    described = declared | RESERVED_COLUMN_DESCRIPTIONS
    return {column: described.get(column, UNDECLARED) for column in columns}


def silver_descriptions(spec: SourceSpec) -> dict[str, str]:
    described = {c.target: c.description for c in spec.columns}
    described |= {d.name: d.description for d in spec.derived}
    described[spec.partition_column] = _partition_day(spec)
    return described | RESERVED_COLUMN_DESCRIPTIONS | HISTORY_COLUMN_DESCRIPTIONS


def _original(column: ColumnSpec) -> str:
    if column.pii:
        return "The HMAC-SHA256 hash silver keeps (PII never leaves bronze in clear)."
    return "The original value as read, a string."


def quarantine_descriptions(spec: SourceSpec) -> dict[str, str]:
    described = {c.name: _joined(_original(c), c.description) for c in spec.columns}
    described[spec.partition_column] = "The day the rejected row was assigned to (midnight)."
    return described | RESERVED_COLUMN_DESCRIPTIONS

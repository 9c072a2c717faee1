"""The `postgres:` block of a declaration: a table of an operational database, read
incrementally by a watermark column.

Read by `spec.load_source` with its reader, so every error names the file and the field.
No dagster import here: the Postgres source connector reads this model.

    connector: postgres
    format: json                     # rows are read as records (like a JSON page)
    partitioning: {type: none}       # extracted incrementally, not by day
    postgres:
      url_env: ETL_CRM_URL           # an ETL_..._URL variable holding the libpq DSN (secret)
      table: crm.customers           # [schema.]table
      watermark: updated_at          # a declared column; rows with a later value are new

The watermark also orders the versions of a row that bronze logs: silver keeps the latest
one of each business key (`transforms.silver.duplicates.versioned_by`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from etl_assets.sources.http_spec import URL_VARIABLE_PATTERN

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
DEFAULT_WATERMARK = "updated_at"


@dataclass(frozen=True)
class PostgresSourceSpec:
    url_env: str  # the variable holding the DSN; read at run time via dagster.EnvVar
    schema: str
    table: str
    watermark: str  # raw (source) column name, one of the declared columns

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"


def read_postgres(reader, raw: Any, *, raw_columns: list[str], partitioning: str):
    """The validated `postgres:` block. `reader` is spec._Reader (errors name file and field)."""
    if raw is None:
        raise reader.fail("postgres", "connector: postgres needs a postgres: block")
    raw = reader.mapping(raw, "postgres")
    reader.keys(raw, "postgres.", required={"url_env", "table"}, optional={"watermark"})
    url_env = str(raw["url_env"])
    if not URL_VARIABLE_PATTERN.match(url_env):
        raise reader.fail("postgres.url_env", f"{url_env!r} must name a variable like ETL_<DB>_URL")
    if url_env == "ETL_WAREHOUSE_URL":
        raise reader.fail(
            "postgres.url_env", "ETL_WAREHOUSE_URL is the warehouse; name the source's own DSN"
        )
    parts = reader.text(raw["table"], "postgres.table").split(".")
    if len(parts) > 2 or not all(NAME_PATTERN.match(part) for part in parts):
        raise reader.fail("postgres.table", "expected table or schema.table (plain names)")
    schema, table = parts if len(parts) == 2 else ["public", parts[0]]
    watermark = str(raw.get("watermark", DEFAULT_WATERMARK))
    if watermark not in raw_columns:
        raise reader.fail(
            "postgres.watermark",
            f"{watermark!r} must be one of the declared columns (names): {raw_columns}",
        )
    if partitioning != "none":
        raise reader.fail(
            "partitioning",
            "connector: postgres extracts a table incrementally by its watermark; "
            "write partitioning: {type: none}",
        )
    return PostgresSourceSpec(url_env=url_env, schema=schema, table=table, watermark=watermark)

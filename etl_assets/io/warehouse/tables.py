"""Which Postgres table an asset is published to, and which names Postgres accepts.

Asset ``["gold", "daily_sales"]`` is the table ``gold.daily_sales`` (``schema_prefix`` is put
before the schema; a longer key joins the rest with ``__``), unless its ``warehouse_table``
metadata names another. Names longer than Postgres's 63 bytes are refused rather than
silently truncated by the server; every name goes through ``psycopg2.sql.Identifier``.
"""

from dataclasses import dataclass

import dagster as dg
from psycopg2 import sql

from etl_assets.io.partitions import describe

MAX_IDENTIFIER_BYTES = 63  # Postgres's NAMEDATALEN - 1: longer names are cut silently
# Definition metadata naming the table ("schema.table") when it is not the one the asset key
# gives: the publish asset ["warehouse", "daily_sales"] writes gold.daily_sales.
TABLE_METADATA = "warehouse_table"


@dataclass(frozen=True)
class TableRef:
    """A warehouse table: schema and name, unquoted."""

    schema: str
    name: str

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def table_for(asset_key: dg.AssetKey, schema_prefix: str = "") -> TableRef:
    """``["gold", "daily_sales"]`` -> gold.daily_sales; a one-part key goes to ``public``."""
    *layer, name = asset_key.path
    schema = schema_prefix + (layer[0] if layer else "public")
    ref = TableRef(schema=schema, name="__".join([*layer[1:], name]))
    check_identifier(ref.schema, f"the schema of {describe(asset_key)}")
    check_identifier(ref.name, f"the table of {describe(asset_key)}")
    return ref


def table_for_context(
    context: dg.InputContext | dg.OutputContext, asset_key: dg.AssetKey, schema_prefix: str = ""
) -> TableRef:
    """The asset's table: its ``warehouse_table`` metadata ("schema.table"), else its key."""
    output = context.upstream_output if isinstance(context, dg.InputContext) else context
    named = ((output.definition_metadata if output else None) or {}).get(TABLE_METADATA)
    if not named:
        return table_for(asset_key, schema_prefix)
    schema, _, name = str(named).partition(".")
    ref = TableRef(schema=schema_prefix + schema, name=name)
    check_identifier(ref.schema, f"the schema of {describe(asset_key)}")
    check_identifier(ref.name, f"the table of {describe(asset_key)}")
    return ref


def check_identifier(name: str, what: str) -> None:
    """Refuse what Postgres would truncate or reject; quoting makes everything else safe."""
    size = len(name.encode("utf-8"))
    if not name or "\x00" in name or size > MAX_IDENTIFIER_BYTES:
        raise dg.Failure(
            description=(
                f"{what} is named {name!r} ({size} bytes): Postgres names must be 1 to "
                f"{MAX_IDENTIFIER_BYTES} bytes without NUL characters (longer ones are "
                "truncated and would collide). Rename it."
            ),
            allow_retries=False,
        )

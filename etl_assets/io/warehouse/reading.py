"""Reading a warehouse table back: ``COPY (SELECT ...) TO STDOUT`` parsed by pyarrow,
with the dtypes restored from the column types (see ``sql_types.read_types``)."""

import io
from collections.abc import Mapping

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import sql

from etl_assets.connectors.postgres import PostgresWarehouse
from etl_assets.io.partitions import PARTITION_EXPR
from etl_assets.io.warehouse.ddl import existing_columns
from etl_assets.io.warehouse.sql_types import read_types, window_condition
from etl_assets.io.warehouse.tables import TableRef


def read_table(
    warehouse: PostgresWarehouse,
    ref: TableRef,
    column: str | None = None,
    window: dg.TimeWindow | None = None,
) -> pd.DataFrame | None:
    """The table's rows (those in ``window`` when given) as a frame; None when no table."""
    with warehouse.connection() as conn, conn.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz comes back as +00
        columns = existing_columns(cursor, ref)
        if columns is None:
            return None
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), ref.identifier
        )
        if column is not None and window is not None:
            query += sql.SQL(" WHERE {} ORDER BY {}").format(
                window_condition(column, _column_type(columns, column, ref), window),
                sql.Identifier(column),
            )
        buffer = io.BytesIO()
        cursor.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query), buffer)
    return csv_to_frame(buffer.getvalue(), columns)


def _column_type(columns: Mapping[str, str], column: str, ref: TableRef) -> str:
    if column not in columns:
        raise dg.Failure(
            description=(
                f"Table {ref} has no column '{column}', the asset's '{PARTITION_EXPR}': it "
                "cannot be read by partition. Re-materialize the asset or fix its metadata."
            ),
            allow_retries=False,
        )
    return columns[column]


def csv_to_frame(data: bytes, columns: Mapping[str, str]) -> pd.DataFrame:
    """Parse Postgres CSV with pyarrow into the dtypes the column types stand for."""
    types = read_types(columns)
    schema = pa.schema([(name, arrow) for name, (arrow, _) in types.items()])
    if not data:
        arrow_table = schema.empty_table()
    else:
        arrow_table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=list(columns)),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                null_values=[""],  # unquoted empty field: NULL; quoted "" stays ''
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
    dtypes = {arrow: dtype for arrow, dtype in types.values() if dtype is not None}
    return arrow_table.to_pandas(types_mapper=dtypes.get)

"""Loading declared sources: each YAML file read and validated into a `SourceSpec`.

Loading validates every field and fails with the file, the field and the allowed values, so
a wrong declaration never reaches a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from etl_assets.sources.expectation_spec import (
    ExpectationError,
    parse_suite_declaration,
)
from etl_assets.sources.hooks import read_hook
from etl_assets.sources.http_spec import read_http
from etl_assets.sources.postgres_spec import read_postgres
from etl_assets.sources.quarantine_spec import read_quarantine
from etl_assets.sources.reading_spec import (
    check_spellings,
    read_aliases,
    read_delimiter,
    read_encoding,
    read_formats,
    read_timezone,
)
from etl_assets.sources.reserved_columns import BUILT_IN_REASONS, RESERVED_COLUMNS
from etl_assets.sources.rule_spec import RuleSpec, read_rules
from etl_assets.sources.spec import (
    AVAILABLE_CONNECTORS,
    COLUMN_TYPES,
    CONNECTORS,
    DATE_PLACEHOLDER,
    DEFAULT_PARTITION_COLUMN,
    DERIVED_KINDS,
    FORMATS,
    HISTORY_TYPES,
    NAME_PATTERN,
    PARTITIONING_TYPES,
    PII_METHODS,
    STANDARDISE_OPS,
    ColumnSpec,
    DerivedSpec,
    SourceDeclarationError,
    SourceSpec,
)


class _Reader:
    """Reads one YAML mapping, naming the file and field in every error."""

    def __init__(self, file: Path):
        self.file = file

    def fail(self, field_path: str, problem: str) -> SourceDeclarationError:
        return SourceDeclarationError(self.file, field_path, problem)

    def mapping(self, value: Any, field_path: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field_path, f"expected a mapping, got {type(value).__name__}")
        return value

    def keys(self, data: dict, field_path: str, required: set[str], optional: set[str]) -> None:
        missing = sorted(required - data.keys())
        if missing:
            raise self.fail(f"{field_path}{missing[0]}", "is required but missing")
        unknown = sorted(data.keys() - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.fail(f"{field_path}{unknown[0]}", f"unknown field; allowed: {allowed}")

    def text(self, value: Any, field_path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field_path, "expected a non-empty string")
        return value

    def choice(self, value: Any, field_path: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(field_path, f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    def identifier(self, value: Any, field_path: str) -> str:
        value = self.text(value, field_path)
        if not NAME_PATTERN.match(value):
            raise self.fail(
                field_path, f"{value!r} must be lower_snake_case (letters, digits, underscores)"
            )
        return value

    def string_list(self, value: Any, field_path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(field_path, "expected a list of strings")
        return tuple(value)


def load_source(file: Path | str) -> SourceSpec:
    file = Path(file)
    reader = _Reader(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceDeclarationError(file, "<document>", f"is not valid YAML: {exc}") from exc
    data = reader.mapping(data, "<document>")
    reader.keys(
        data,
        "",
        required={"name", "connector", "format", "partitioning", "columns"},
        optional={"description", "owners", "business_key", "derived", "history"}
        | {"path", "http", "postgres", "ignore_fields", "rules", "silver_hook", "expectations"}
        | {"encoding", "delimiter", "quarantine"},
    )
    name = reader.identifier(data["name"], "name")
    connector, file_format = _read_connector(reader, data)
    columns = _read_columns(reader, data["columns"])
    targets = [c.target for c in columns]
    partitioning, date_column, late_days, partition_column = _read_partitioning(
        reader, data["partitioning"], columns
    )
    path = None
    if connector == "files":
        if "path" not in data:
            raise reader.fail("path", "is required with connector: files")
        path = reader.text(data["path"], "path")
        _check_path(reader, path, partitioning)
    elif "path" in data:
        raise reader.fail("path", f"only connector: files reads a path, not {connector}")
    http = None
    if connector == "http" and "http" not in data:
        raise reader.fail("http", "connector: http needs an http: block with url or url_env")
    if "http" in data or connector == "http":
        http = read_http(
            reader, data.get("http"), daily=partitioning == "daily", connector=connector
        )
    postgres = None
    if connector == "postgres" or "postgres" in data:
        if connector != "postgres":
            raise reader.fail(
                "postgres", f"only connector: postgres reads a table, not {connector}"
            )
        postgres = read_postgres(
            reader,
            data.get("postgres"),
            raw_columns=[c.name for c in columns],
            partitioning=partitioning,
        )
    business_key = reader.string_list(data.get("business_key", []), "business_key")
    for i, key in enumerate(business_key):
        if key not in targets:
            raise reader.fail(f"business_key[{i}]", f"{key!r} is not a column; columns: {targets}")
    derived = _read_derived(reader, data.get("derived", []), targets)
    history = _read_history(reader, data.get("history"), targets, business_key)
    ignore_fields = reader.string_list(data.get("ignore_fields", []), "ignore_fields")
    if ignore_fields and file_format != "json" and http is None:
        raise reader.fail("ignore_fields", "applies to JSON records only (format json or http)")
    rules = read_rules(reader, data.get("rules", []), {c.target: c.type for c in columns})
    try:
        expectations = parse_suite_declaration(data.get("expectations"))
    except ExpectationError as error:
        raise reader.fail(error.field_path, error.problem) from error
    return SourceSpec(
        name=name,
        file=str(file),
        description=str(data.get("description", "")).strip(),
        owners=reader.string_list(data.get("owners", []), "owners"),
        connector=connector,
        format=file_format,
        path=path,
        partitioning=partitioning,
        date_column=date_column,
        partition_column=partition_column,
        late_arrival_days=late_days,
        columns=columns,
        business_key=business_key,
        derived=derived,
        history_tracked=history,
        http=http,
        postgres=postgres,
        ignore_fields=ignore_fields,
        rules=rules,
        silver_hook=read_hook(reader, data.get("silver_hook"), file, _taken_reasons(rules)),
        expectations=expectations,
        encoding=read_encoding(reader, data.get("encoding")),
        delimiter=read_delimiter(reader, data.get("delimiter")),
        max_reject_rate=read_quarantine(reader, data.get("quarantine")),
    )


def _read_connector(reader: _Reader, data: dict) -> tuple[str, str]:
    connector = reader.choice(data["connector"], "connector", CONNECTORS)
    if connector not in AVAILABLE_CONNECTORS:
        raise reader.fail(
            "connector",
            f"{connector!r} is declared but not yet available in this version (reading source "
            f"tables is planned); available now: {', '.join(AVAILABLE_CONNECTORS)}",
        )
    file_format = reader.choice(data["format"], "format", FORMATS)
    if connector == "http" and file_format != "json":
        raise reader.fail("format", "connector: http reads JSON pages: write format: json")
    if connector == "postgres" and file_format != "json":
        raise reader.fail("format", "connector: postgres reads rows as records: write format: json")
    return connector, file_format


def _taken_reasons(rules: tuple[RuleSpec, ...]) -> set[str]:
    """Reject reasons a hook may not reuse: the built-in ones (and prefixes) and the rules'."""
    return set(BUILT_IN_REASONS) | {r.name for r in rules}


def _read_columns(reader: _Reader, raw: Any) -> tuple[ColumnSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise reader.fail("columns", "expected a non-empty list of columns")
    columns, seen_names, seen_targets = [], set(), set()
    for i, item in enumerate(raw):
        where = f"columns[{i}]"
        item = reader.mapping(item, where)
        reader.keys(
            item,
            f"{where}.",
            required={"name", "type"},
            optional={"as", "required", "format", "standardise", "min", "pii"}
            | {"formats", "aliases", "timezone", "description"},
        )
        name = reader.text(item["name"], f"{where}.name")
        target = reader.identifier(item.get("as", name), f"{where}.as")
        col_type = reader.choice(item["type"], f"{where}.type", COLUMN_TYPES)
        ops = reader.string_list(item.get("standardise", []), f"{where}.standardise")
        for j, op in enumerate(ops):
            reader.choice(op, f"{where}.standardise[{j}]", STANDARDISE_OPS)
        if ops and col_type != "string":
            raise reader.fail(f"{where}.standardise", "only string columns can be standardised")
        minimum = item.get("min")
        if minimum is not None and (
            col_type not in ("int", "float")
            or isinstance(minimum, bool)
            or not isinstance(minimum, int | float)
        ):
            raise reader.fail(f"{where}.min", "a number, allowed on int and float columns only")
        pii = item.get("pii")
        if pii is not None:
            reader.choice(pii, f"{where}.pii", PII_METHODS)
        if not isinstance(item.get("required", False), bool):
            raise reader.fail(f"{where}.required", "expected true or false")
        if name in RESERVED_COLUMNS:  # (an `as` name cannot start with "_")
            raise reader.fail(
                f"{where}.name",
                f"{name!r} is a name the pipeline writes itself ({', '.join(RESERVED_COLUMNS)}); "
                "rename the column in the source",
            )
        if name in seen_names:
            raise reader.fail(f"{where}.name", f"{name!r} is declared twice")
        if target in seen_targets:
            raise reader.fail(f"{where}.as", f"{target!r} is declared twice")
        seen_names.add(name)
        seen_targets.add(target)
        columns.append(
            ColumnSpec(
                name=name,
                target=target,
                type=col_type,
                required=item.get("required", False),
                formats=read_formats(reader, item, where, col_type),
                standardise=ops,
                minimum=minimum,
                pii=pii,
                aliases=read_aliases(reader, item.get("aliases"), where),
                timezone=read_timezone(reader, item.get("timezone"), where, col_type),
                description=_read_description(reader, item, where),
            )
        )
    check_spellings(reader, columns)
    return tuple(columns)


def _read_partitioning(
    reader: _Reader, raw: Any, columns: tuple[ColumnSpec, ...]
) -> tuple[str, str | None, int, str]:
    raw = reader.mapping(raw, "partitioning")
    reader.keys(
        raw, "partitioning.", {"type"}, {"date_column", "late_arrival_days", "partition_column"}
    )
    kind = reader.choice(raw["type"], "partitioning.type", PARTITIONING_TYPES)
    date_column = raw.get("date_column")
    late_days = raw.get("late_arrival_days", 0)
    if kind == "none" and (date_column or late_days):
        raise reader.fail("partitioning", "date_column and late_arrival_days need type: daily")
    if date_column is not None:
        datetime_columns = [c.target for c in columns if c.type == "datetime"]
        if date_column not in datetime_columns:
            raise reader.fail(
                "partitioning.date_column",
                f"{date_column!r} is not a datetime column; datetime columns: {datetime_columns}",
            )
    if not isinstance(late_days, int) or isinstance(late_days, bool) or not 0 <= late_days <= 7:
        raise reader.fail("partitioning.late_arrival_days", "expected a whole number from 0 to 7")
    if late_days and date_column is None:
        raise reader.fail("partitioning.late_arrival_days", "needs partitioning.date_column")
    partition_column = reader.identifier(
        raw.get("partition_column", DEFAULT_PARTITION_COLUMN), "partitioning.partition_column"
    )
    if partition_column in [c.target for c in columns]:
        raise reader.fail("partitioning.partition_column", f"{partition_column!r} is a column")
    return kind, date_column, late_days, partition_column


def _check_path(reader: _Reader, path: str, partitioning: str) -> None:
    if path.startswith("/") or ".." in Path(path).parts:
        raise reader.fail("path", f"{path!r} must be relative to the landing directory")
    if partitioning == "daily" and DATE_PLACEHOLDER not in path:
        raise reader.fail("path", f"a daily source needs {DATE_PLACEHOLDER} in its path")
    if partitioning == "none" and DATE_PLACEHOLDER in path:
        raise reader.fail("path", f"{DATE_PLACEHOLDER} needs partitioning type: daily")


def _read_derived(reader: _Reader, raw: Any, targets: list[str]) -> tuple[DerivedSpec, ...]:
    if not isinstance(raw, list):
        raise reader.fail("derived", "expected a list")
    derived = []
    for i, item in enumerate(raw):
        where = f"derived[{i}]"
        item = reader.mapping(item, where)
        reader.keys(item, f"{where}.", {"name"}, {*DERIVED_KINDS, "description"})
        name = reader.identifier(item["name"], f"{where}.name")
        if name in targets or any(d.name == name for d in derived):
            raise reader.fail(f"{where}.name", f"{name!r} is already a column")
        kinds = [k for k in DERIVED_KINDS if k in item]
        if len(kinds) != 1:
            raise reader.fail(where, f"needs exactly one of: {', '.join(DERIVED_KINDS)}")
        kind = kinds[0]
        body = item[kind]
        described = {"description": _read_description(reader, item, where)}
        if kind == "product":
            factors = reader.string_list(body, f"{where}.product")
            for factor in factors:
                if factor not in targets:
                    raise reader.fail(f"{where}.product", f"{factor!r} is not a column")
            derived.append(DerivedSpec(name=name, kind=kind, factors=factors, **described))
            continue
        if kind in ("is_null", "not_null"):  # {name: cancelled, is_null: dep_time}
            column = reader.text(body, f"{where}.{kind}")
            if column not in targets:
                raise reader.fail(f"{where}.{kind}", f"{column!r} is not a column; {targets}")
            derived.append(DerivedSpec(name=name, kind=kind, column=column, **described))
            continue
        body = reader.mapping(body, f"{where}.{kind}")
        value_key = "value" if kind == "starts_with" else "values"
        reader.keys(body, f"{where}.{kind}.", {"column", value_key}, set())
        column = body["column"]
        if column not in targets:
            raise reader.fail(f"{where}.{kind}.column", f"{column!r} is not a column; {targets}")
        if kind == "starts_with":
            value = reader.text(body["value"], f"{where}.{kind}.value")
            derived.append(
                DerivedSpec(name=name, kind=kind, column=column, value=value, **described)
            )
        else:
            values = body["values"]
            if not isinstance(values, list) or not values:
                raise reader.fail(f"{where}.in.values", "expected a non-empty list")
            derived.append(
                DerivedSpec(name=name, kind=kind, column=column, values=tuple(values), **described)
            )
    return tuple(derived)


def _read_description(reader: _Reader, item: dict, where: str) -> str:
    """A column's optional `description`: text for the column schema, one line (YAML's
    folded and literal blocks read as the words they hold). Documentation only: it
    decides no row (see `spec.documentation`)."""
    if "description" not in item:
        return ""
    return " ".join(reader.text(item["description"], f"{where}.description").split())


def _read_history(
    reader: _Reader, raw: Any, targets: list[str], business_key: tuple[str, ...]
) -> tuple[str, ...] | None:
    if raw is None:
        return None
    raw = reader.mapping(raw, "history")
    reader.keys(raw, "history.", {"type", "tracked"}, set())
    reader.choice(raw["type"], "history.type", HISTORY_TYPES)
    tracked = reader.string_list(raw["tracked"], "history.tracked")
    for i, col in enumerate(tracked):
        if col not in targets:
            raise reader.fail(f"history.tracked[{i}]", f"{col!r} is not a column; {targets}")
    if not business_key:
        raise reader.fail("business_key", "a history needs a business key")
    return tracked

"""A wrong declaration fails at load, naming the file, the field and what is allowed."""

from pathlib import Path

import pytest
import yaml

from etl_assets.sources import (
    SourceDeclarationError,
    default_sources_dir,
    load_source,
    load_sources,
)

VALID = {
    "name": "events",
    "connector": "files",
    "format": "csv",
    "path": "events/events_{date}.csv",
    "partitioning": {"type": "daily", "date_column": "happened_at", "late_arrival_days": 1},
    "columns": [
        {"name": "Id", "as": "event_id", "type": "int", "required": True},
        {"name": "At", "as": "happened_at", "type": "datetime", "format": "%Y-%m-%d %H:%M"},
        {"name": "Amount", "as": "amount", "type": "float", "min": 0},
        {"name": "Kind", "as": "kind", "type": "string", "standardise": ["trim", "lower"]},
    ],
    "business_key": ["event_id"],
    "derived": [{"name": "is_refund", "starts_with": {"column": "kind", "value": "refund"}}],
}


def write(tmp_path: Path, data, name: str = "events.yaml") -> Path:
    file = tmp_path / name
    file.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return file


def with_change(path: str, value):
    data = yaml.safe_load(yaml.safe_dump(VALID))
    target = data
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


def test_bundled_declarations_load():
    specs = load_sources(default_sources_dir())
    assert set(specs) == {"orders", "customers", "products"}
    orders = specs["orders"]
    assert orders.is_daily and orders.date_column == "invoice_date"
    assert orders.partition_column == "order_date" and orders.late_arrival_days == 1
    assert specs["customers"].history_tracked == ("email_hash", "country")
    assert not specs["products"].is_daily


def test_valid_declaration(tmp_path):
    spec = load_source(write(tmp_path, VALID))
    assert spec.raw_columns == ("Id", "At", "Amount", "Kind")
    assert spec.target_columns == ("event_id", "happened_at", "amount", "kind")
    assert spec.required_raw_columns == ("Id",)
    assert spec.partition_column == "business_date"


@pytest.mark.parametrize(
    ("change", "value", "field", "words"),
    [
        ("connector", "ftp", "connector", "'ftp' is not one of: files"),
        ("format", "xml", "format", "is not one of: csv"),
        ("name", "Bad Name", "name", "lower_snake_case"),
        ("path", "events/events.csv", "path", "needs {date}"),
        ("path", "../outside_{date}.csv", "path", "relative to the landing directory"),
        ("partitioning.type", "hourly", "partitioning.type", "is not one of: daily, none"),
        ("partitioning.date_column", "amount", "partitioning.date_column", "not a datetime"),
        ("partitioning.late_arrival_days", 30, "partitioning.late_arrival_days", "0 to 7"),
        ("columns.0.type", "decimal", "columns[0].type", "is not one of: string, int"),
        ("columns.3.standardise", ["shout"], "columns[3].standardise[0]", "trim"),
        ("columns.2.min", "zero", "columns[2].min", "a number"),
        ("columns.1.format", KeyError, None, None),  # format is optional: must load
        ("columns.0.colour", "red", "columns[0].colour", "unknown field; allowed:"),
        ("columns.0.name", "_batch_id", "columns[0].name", "the pipeline writes itself"),
        ("columns", [], "columns", "non-empty list"),
        ("business_key", ["nope"], "business_key[0]", "'nope' is not a column"),
        ("derived.0.starts_with.column", "nope", "derived[0].starts_with.column", "not a column"),
        ("name", KeyError, "name", "is required but missing"),
        ("surprise", 1, "surprise", "unknown field"),
    ],
)
def test_wrong_declaration_names_file_and_field(tmp_path, change, value, field, words):
    file = write(tmp_path, with_change(change, value))
    if field is None:
        load_source(file)
        return
    with pytest.raises(SourceDeclarationError) as error:
        load_source(file)
    assert error.value.field_path == field
    assert str(file) in str(error.value)
    assert words in str(error.value)


def test_invalid_yaml_names_file(tmp_path):
    file = write(tmp_path, "name: [unclosed")
    with pytest.raises(SourceDeclarationError, match="not valid YAML"):
        load_source(file)


def test_duplicate_column_and_source_names(tmp_path):
    data = with_change("columns.1.as", "event_id")
    with pytest.raises(SourceDeclarationError, match="declared twice"):
        load_source(write(tmp_path, data))
    folder = tmp_path / "twice"
    folder.mkdir()
    write(folder, VALID, "a.yaml")
    write(folder, VALID, "b.yaml")
    with pytest.raises(SourceDeclarationError, match="already declared"):
        load_sources(folder)


def test_a_declaration_error_at_load_shows_its_message_not_the_reader_frames(tmp_path):
    """The code location load (dagster dev, dg check defs) shows the file, the field and what
    is allowed, without a traceback through the declaration reader."""
    import os
    import shutil
    import subprocess
    import sys

    for source in default_sources_dir().glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    orders = tmp_path / "orders.yaml"
    orders.write_text(orders.read_text().replace("  type: daily", "  type: weekly", 1))
    env = {**os.environ, "ETL_SOURCES_DIR": str(tmp_path), "ETL_DATA_DIR": str(tmp_path)}
    loaded = subprocess.run(
        [sys.executable, "-c", "import etl_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode != 0
    assert "field 'partitioning.type': 'weekly' is not one of: daily, none" in loaded.stderr
    assert "loading.py" not in loaded.stderr  # no frames of the reader

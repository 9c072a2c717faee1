"""A declared column's `description`: read, checked, kept out of what decides the rows, and
given for every column of the shipped declarations."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from etl_assets.sources import (
    SourceDeclarationError,
    SourceSpec,
    default_sources_dir,
    load_source,
    load_sources,
)
from etl_assets.sources.spec import is_documentation
from etl_assets_tests.sources.test_spec import VALID, with_change, write

FOLDED = """
name: events
connector: files
format: csv
path: events/events_{date}.csv
partitioning: {type: daily}
columns:
  - name: Id
    as: event_id
    type: int
    description: >
      The event's number,
      unique per day.
  - {name: Kind, as: kind, type: string, description: "refund, sale or fee"}
derived:
  - {name: is_refund, starts_with: {column: kind, value: refund}, description: A refund.}
"""


def test_descriptions_load_onto_columns_and_derived(tmp_path):
    spec = load_source(write(tmp_path, FOLDED))
    assert [c.description for c in spec.columns] == [
        "The event's number, unique per day.",  # a folded block reads as one line
        "refund, sale or fee",
    ]
    assert spec.derived[0].description == "A refund."


def test_a_description_is_optional(tmp_path):
    spec = load_source(write(tmp_path, VALID))
    assert {c.description for c in (*spec.columns, *spec.derived)} == {""}


@pytest.mark.parametrize(
    ("change", "value", "field"),
    [
        ("columns.0.description", 42, "columns[0].description"),
        ("columns.2.description", ["a", "list"], "columns[2].description"),
        ("columns.1.description", "  ", "columns[1].description"),
        ("columns.3.description", None, "columns[3].description"),
        ("derived.0.description", {"a": 1}, "derived[0].description"),
    ],
)
def test_a_description_that_is_not_text_is_refused(tmp_path, change, value, field):
    file = write(tmp_path, with_change(change, value))
    with pytest.raises(SourceDeclarationError) as error:
        load_source(file)
    assert error.value.field_path == field
    assert str(error.value).startswith(f"{file}: field '{field}': expected a non-empty string")


def test_descriptions_decide_nothing(tmp_path):
    """Specs that differ only in descriptions are equal, and the description fields are
    marked as documentation for whatever derives a version from a declaration."""
    plain = load_source(write(tmp_path, VALID, "plain.yaml"))
    described = yaml.safe_load(yaml.safe_dump(VALID))
    for item in (*described["columns"], *described["derived"]):
        item["description"] = f"what {item['name']} holds"
    spec = load_source(write(tmp_path, described, "described.yaml"))
    assert spec.columns[0].description == "what Id holds"
    assert dataclasses.replace(spec, file=plain.file) == plain
    for column in (*spec.columns, *spec.derived):
        marked = [f.name for f in dataclasses.fields(column) if is_documentation(f)]
        assert marked == ["description"]


def _undescribed(spec: SourceSpec) -> list[str]:
    named = [(c.target, c.description) for c in spec.columns]
    named += [(d.name, d.description) for d in spec.derived]
    return [name for name, text in named if not text.strip()]


@pytest.mark.parametrize("name", ["orders", "customers", "products"])
def test_every_shipped_column_is_described(name):
    spec = load_sources(default_sources_dir())[name]
    assert _undescribed(spec) == [], f"{spec.file}: describe {_undescribed(spec)}"

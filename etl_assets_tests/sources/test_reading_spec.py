"""Reading fields of a declaration (encoding, delimiter, aliases, formats, timezone) and the
derived is_null/not_null: loaded when right, refused with file and field when wrong."""

import pytest

from etl_assets.sources import SourceDeclarationError, load_source
from etl_assets_tests.sources.test_spec import with_change, write


def test_reading_fields_load(tmp_path):
    data = with_change("encoding", "latin-1")
    data["delimiter"] = ";"
    data["columns"][0]["aliases"] = ["ID", "Event ID"]
    data["columns"][1].pop("format")
    data["columns"][1]["formats"] = ["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "ISO8601"]
    data["columns"][1]["timezone"] = "Europe/Paris"
    data["derived"].append({"name": "no_amount", "is_null": "amount"})
    data["derived"].append({"name": "has_kind", "not_null": "kind"})
    spec = load_source(write(tmp_path, data))
    assert (spec.encoding, spec.delimiter) == ("iso8859-1", ";")
    assert spec.columns[0].aliases == ("ID", "Event ID")
    assert spec.columns[1].formats == ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "ISO8601")
    assert spec.columns[1].timezone == "Europe/Paris"
    assert [d.kind for d in spec.derived][-2:] == ["is_null", "not_null"]


def test_defaults_and_auto(tmp_path):
    spec = load_source(write(tmp_path, with_change("encoding", "auto")))
    assert (spec.encoding, spec.delimiter) == ("auto", ",")
    assert spec.columns[1].formats == ("%Y-%m-%d %H:%M",)  # `format:` is one format


@pytest.mark.parametrize(
    ("change", "value", "field", "words"),
    [
        ("encoding", "klingon", "encoding", "not a text encoding"),
        ("encoding", "rot13", "encoding", "not a text encoding"),
        ("delimiter", ";;", "delimiter", "one character"),
        ("delimiter", '"', "delimiter", "not a quote"),
        ("columns.1.format", "%Q", "columns[1].format", "not a strptime format"),
        ("columns.1.format", "%H:%M", "columns[1].format", "whole date"),
        ("columns.1.formats", [], "columns[1].formats", "write either format or formats"),
        ("columns.2.format", "%Y", "columns[2].format", "only datetime columns"),
        ("columns.1.timezone", "Mars/Base", "columns[1].timezone", "not a timezone"),
        ("columns.2.timezone", "UTC", "columns[2].timezone", "only datetime columns"),
        ("columns.0.aliases", ["amount"], "columns[2].name", "already names columns[0]"),
        ("columns.0.aliases", "ID", "columns[0].aliases", "list of strings"),
    ],
)
def test_wrong_reading_field_names_file_and_field(tmp_path, change, value, field, words):
    file = write(tmp_path, with_change(change, value))
    with pytest.raises(SourceDeclarationError) as error:
        load_source(file)
    assert error.value.field_path == field
    assert str(file) in str(error.value)
    assert words in str(error.value)


def test_formats_list_is_checked_per_item(tmp_path):
    data = with_change("columns.1.format", KeyError)
    data["columns"][1]["formats"] = ["%Y-%m-%d %H:%M", "%m/%y"]
    with pytest.raises(SourceDeclarationError) as error:
        load_source(write(tmp_path, data))
    assert error.value.field_path == "columns[1].formats[1]"


@pytest.mark.parametrize("kind", ["is_null", "not_null"])
def test_derived_nullness_needs_a_column(tmp_path, kind):
    data = with_change("derived", [{"name": "flag", kind: "nope"}])
    with pytest.raises(SourceDeclarationError) as error:
        load_source(write(tmp_path, data))
    assert error.value.field_path == f"derived[0].{kind}"
    assert "'nope' is not a column" in str(error.value)

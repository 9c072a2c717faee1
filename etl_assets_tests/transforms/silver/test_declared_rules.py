"""Declared rules and the silver hook move rows to the quarantine, never drop them."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import yaml

from etl_assets.sources import load_source
from etl_assets.sources.hooks import HookSpec
from etl_assets.transforms.silver import (
    HookContractError,
    apply_row_rules,
    clean_source,
    quarantine_schema,
)

DECLARATION = {
    "name": "readings",
    "connector": "files",
    "format": "csv",
    "path": "readings.csv",
    "partitioning": {"type": "none"},
    "columns": [
        {"name": "Id", "as": "reading_id", "type": "int", "required": True},
        {"name": "Value", "as": "value", "type": "float"},
        {"name": "Unit", "as": "unit", "type": "string", "standardise": ["trim", "lower"]},
        {"name": "Secret", "as": "secret", "type": "string", "pii": "hmac"},
    ],
    "business_key": ["reading_id"],
    "rules": [
        {"name": "value_in_range", "column": "value", "between": [0, 100]},
        {"name": "unit_known", "column": "unit", "in": ["c", "f"]},
        {"name": "value_round", "column": "value", "max": 50, "severity": "warn"},
    ],
}
ROWS = [  # Id, Value, Unit, Secret
    ("1", "20", " C ", "a"),
    ("2", "120", "c", "b"),  # value_in_range
    ("3", "30", "kelvin", "c"),  # unit_known
    ("4", "", "f", "d"),  # a null value passes the range rule
    ("5", "70", "f", "e"),  # warned (above 50), kept
]


@pytest.fixture
def spec(tmp_path):
    file = tmp_path / "readings.yaml"
    file.write_text(yaml.safe_dump(DECLARATION))
    return load_source(file)


def bronze(rows=ROWS) -> pd.DataFrame:
    string = "string[pyarrow]"
    frame = pd.DataFrame(
        {
            name: pd.array([row[i] for row in rows], dtype=string)
            for i, name in enumerate(["Id", "Value", "Unit", "Secret"])
        }
    )
    count = len(rows)
    frame["_source_file"] = pd.array(["readings.csv"] * count, dtype=string)
    frame["_batch_id"] = pd.array(["b"] * count, dtype=string)
    frame["_ingested_at"] = pd.Timestamp("2024-01-01", tz="UTC")
    frame["_row_number"] = range(1, count + 1)
    frame["_landing_date"] = pd.Series([pd.NaT] * count, dtype="datetime64[ns]")
    frame["_read_error"] = pd.array([None] * count, dtype=string)
    return frame


def run(spec, hook=None, rows=ROWS):
    if hook is not None:  # as if declared: silver_hook: {function: ..., reasons: [odd_id]}
        spec = replace(spec, silver_hook=HookSpec("t.py:f", ("odd_id",)))
    raw = bronze(rows)
    outcome = apply_row_rules(clean_source(raw, spec, pii_key=b"k"), raw, spec, hook)
    result = outcome.result
    assert len(result.clean) + len(result.quarantine) + result.duplicates_removed == len(rows)
    assert dict(result.quarantine.dtypes.astype(str)) == {
        k: str(pd.api.types.pandas_dtype(v)) for k, v in quarantine_schema(spec).items()
    }
    return outcome


def test_error_rules_quarantine_with_the_original_text_and_warn_rules_count(spec):
    outcome = run(spec)
    result = outcome.result
    assert result.clean["reading_id"].tolist() == [1, 4, 5]
    quarantine = result.quarantine.set_index("_reject_reason")
    assert quarantine.loc["value_in_range", "Value"] == "120"
    assert quarantine.loc["unit_known", "Unit"] == "kelvin"  # as read, not standardised
    assert quarantine.loc["unit_known", "_reject_detail"] == "unit='kelvin' is not one of c, f"
    assert quarantine.loc["unit_known", "Secret"] != "c"  # PII stays hashed past bronze
    assert result.reject_counts["value_in_range"] == 1 and result.reject_counts["unit_known"] == 1
    assert outcome.warnings == {"value_round": 1}


def test_hook_rejects_rows_the_rules_kept(spec):
    def odd_ids(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(["odd_id" if i % 2 else None for i in frame["reading_id"]])

    result = run(spec, hook=odd_ids).result
    assert result.clean["reading_id"].tolist() == [4]
    assert sorted(result.quarantine["_reject_reason"]) == [
        "odd_id",
        "odd_id",
        "unit_known",
        "value_in_range",
    ]
    assert result.reject_counts["odd_id"] == 2


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda frame: frame, "must return a pandas Series"),
        (lambda frame: pd.Series(["x"]), "of length 1"),
        (lambda frame: pd.Series(["too_odd"] * len(frame)), "does not list \\(odd_id\\)"),
    ],
)
def test_hook_that_breaks_the_contract_is_named(spec, answer, words):
    with pytest.raises(HookContractError, match=words):
        run(spec, hook=answer)


def test_without_rules_or_hook_nothing_changes(spec):
    bare = replace(spec, rules=())
    raw = bronze()
    cleaned = clean_source(raw, bare, pii_key=b"k")
    assert apply_row_rules(cleaned, raw, bare).result is cleaned

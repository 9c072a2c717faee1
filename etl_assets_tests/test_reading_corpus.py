"""The hostile corpus (corpus.py) read through the orders declaration: every case ends in
exact row accounting with the figures it expects, or in a clear failure of its own file."""

from __future__ import annotations

import pandas as pd
import pytest

from etl_assets.sources import load_source
from etl_assets.transforms.bronze import LandingFileError, frame_bronze
from etl_assets.transforms.csv_reader import csv_options, read_landing_csv
from etl_assets.transforms.silver import clean_source
from etl_assets_tests.corpus import corpus_cases, write_declaration

DAY = "2024-01-03"
CASES = corpus_cases()


def read_and_clean(case, tmp_path):
    spec = load_source(write_declaration(case, tmp_path / "sources"))
    relative = case.relative_path(DAY)
    read = read_landing_csv(
        case.build(DAY),
        source_file=relative,
        expected_columns=spec.raw_columns,
        required_columns=spec.required_raw_columns,
        **csv_options(spec),
    )
    bronze = frame_bronze(
        read,
        source_file=relative,
        batch_id="corpus",
        ingested_at=pd.Timestamp("2024-01-04 02:00"),
        landing_date=pd.Timestamp(DAY),
    )
    return bronze, clean_source(bronze, spec)


def test_the_corpus_is_big_and_covers_both_outcomes():
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.outcome for case in CASES} == {"accounting", "failure"}


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.outcome == "accounting"], ids=lambda c: c.name
)
def test_case_reads_with_exact_accounting(case, tmp_path):
    bronze, result = read_and_clean(case, tmp_path)
    expected = case.expected
    assert len(bronze) == len(result.clean) + len(result.quarantine) + result.duplicates_removed
    assert (len(result.clean), len(result.quarantine), result.duplicates_removed) == (
        expected.silver,
        expected.quarantined,
        expected.duplicates,
    ), result.quarantine[["_reject_reason", "_reject_detail"]].to_string()
    for reason, rows in expected.reasons.items():
        assert result.reject_counts.get(reason) == rows, result.reject_counts
    if case.check is not None:
        case.check(result.clean)


@pytest.mark.parametrize("case", [c for c in CASES if c.outcome == "failure"], ids=lambda c: c.name)
def test_case_fails_clearly_naming_its_file(case, tmp_path):
    with pytest.raises(LandingFileError) as error:
        read_and_clean(case, tmp_path)
    message = str(error.value)
    assert case.file_name(DAY) in message
    for words in case.failure_words:
        assert words in message

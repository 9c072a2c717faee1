"""The fast evaluation gives, per partition, exactly what great_expectations gives when it
validates that partition's rows directly."""

import numpy as np
import pandas as pd
import pytest

from etl_assets.quality.engine.validation import Partitions, runtime, validate_partitions
from etl_assets.sources.expectation_spec import parse_expectation

PARTITIONS = 3


def rule(**raw):
    return parse_expectation(raw, "test")


RULES = [
    rule(type="expect_column_values_to_not_be_null", column="s", severity="error", mostly=0.96),
    rule(type="expect_column_values_to_be_null", column="i", severity="warn", mostly=0.02),
    rule(
        type="expect_column_values_to_be_in_set",
        column="s",
        value_set=["a", "b"],
        severity="warn",
        mostly=0.7,
    ),
    rule(
        type="expect_column_values_to_not_be_in_set", column="s", value_set=["ddd"], severity="warn"
    ),
    rule(
        type="expect_column_values_to_be_between",
        column="i",
        min_value=0,
        max_value=90,
        severity="warn",
        mostly=0.9,
    ),
    rule(
        type="expect_column_values_to_be_between",
        column="f",
        min_value=1,
        strict_min=True,
        severity="warn",
    ),
    rule(type="expect_column_values_to_match_regex", column="s", regex="^[a-c]+$", severity="warn"),
    rule(
        type="expect_column_values_to_not_match_regex",
        column="s",
        regex="d",
        name="s_no_d",
        severity="warn",
    ),
    rule(
        type="expect_column_value_lengths_to_be_between", column="s", max_value=2, severity="warn"
    ),
    rule(type="expect_column_values_to_be_unique", column="k1", severity="error"),
    rule(
        type="expect_compound_columns_to_be_unique",
        column_list=["k1", "k2"],
        severity="error",
        mostly=0.5,
    ),
    rule(
        type="expect_column_pair_values_a_to_be_greater_than_b",
        column_A="a",
        column_B="b",
        or_equal=True,
        severity="warn",
        mostly=0.3,
    ),
    rule(type="expect_table_row_count_to_be_between", min_value=300, severity="warn"),
]


@pytest.fixture(scope="module")
def frame_and_partitions():
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "s": pd.array(
                rng.choice(["a", "b", "cc", "ddd", None], n, p=[0.4, 0.3, 0.2, 0.05, 0.05]),
                dtype="string[pyarrow]",
            ),
            "i": pd.array(
                np.where(rng.random(n) < 0.03, None, rng.integers(-5, 100, n)), dtype="Int64"
            ),
            "f": pd.array(
                np.where(rng.random(n) < 0.02, np.nan, rng.random(n) * 10), dtype="Float64"
            ),
            "k1": rng.integers(0, n // 2, n),
            "k2": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.choice(["x", "y"], n)),
                dtype="string[pyarrow]",
            ),
            "a": rng.integers(0, 10, n).astype(float),
            "b": rng.integers(0, 10, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.05, "a"] = np.nan
    frame.loc[rng.random(n) < 0.05, "b"] = np.nan
    # uneven partitions: one is too small for the row count rule
    of_row = rng.choice(PARTITIONS, n, p=[0.6, 0.35, 0.05])
    return frame, Partitions(of_row, PARTITIONS)


def test_every_rule_matches_great_expectations_on_each_partition(frame_and_partitions):
    frame, partitions = frame_and_partitions
    outcomes = validate_partitions(frame, RULES, partitions)
    ge = runtime()
    verdicts = set()
    for p in range(PARTITIONS):
        rows = frame[partitions.of_row == p].reset_index(drop=True)
        direct = ge.validate(rows, [ge.expectation(r) for r in RULES])
        for r, mine in zip(RULES, outcomes[p], strict=True):
            theirs = direct[r.name]
            assert mine.success == theirs.success, (p, r.name)
            result = theirs.result
            assert mine.unexpected_count == result.get("unexpected_count"), (p, r.name)
            assert mine.missing_count == result.get("missing_count"), (p, r.name)
            assert mine.observed_value == result.get("observed_value"), (p, r.name)
            assert mine.unexpected_percent == pytest.approx(result.get("unexpected_percent"))
            verdicts.add(mine.success)
    assert verdicts == {True, False}  # the data exercises both verdicts


def test_samples_are_the_most_frequent_unexpected_values(frame_and_partitions):
    frame, partitions = frame_and_partitions
    in_set = RULES[2]
    [[outcome]] = validate_partitions(frame, [in_set], Partitions.single(len(frame)))
    expected = frame["s"][~frame["s"].isin(["a", "b"]) & frame["s"].notna()].value_counts()
    assert outcome.sample == tuple(expected.items())
    duplicates = RULES[10]
    [[outcome]] = validate_partitions(frame, [duplicates], Partitions.single(len(frame)))
    value, rows = outcome.sample[0]
    assert len(value) == 2 and rows >= 2


def test_a_missing_column_or_a_great_expectations_error_fails_the_rule():
    frame = pd.DataFrame({"x": pd.array(["a", "b"], dtype="string[pyarrow]")})
    absent = rule(type="expect_column_values_to_not_be_null", column="y", severity="error")
    bad_type = rule(
        type="expect_column_values_to_be_between", column="x", min_value=0, severity="error"
    )
    [[missing, errored]] = validate_partitions(frame, [absent, bad_type], Partitions.single(2))
    assert not missing.success and "not in the data" in missing.exception
    assert not errored.success and errored.exception


def test_null_keys_are_ignored_like_great_expectations_does():
    frame = pd.DataFrame(
        {
            "a": pd.array([None, None, 1, 1], dtype="Int64"),
            "b": pd.array([None, None, "x", "x"], dtype="string[pyarrow]"),
        }
    )
    unique = rule(
        type="expect_compound_columns_to_be_unique", column_list=["a", "b"], severity="error"
    )
    [[outcome]] = validate_partitions(frame, [unique], Partitions.single(4))
    assert outcome.missing_count == 2 and outcome.unexpected_count == 2
    # within each partition only: the same key on two days is not a duplicate
    two_days = Partitions(np.array([0, 0, 0, 1]), 2)
    [[first], [second]] = validate_partitions(frame, [unique], two_days)
    assert first.success and second.success


def test_empty_partitions_pass_vacuously_except_row_counts():
    frame = pd.DataFrame({"s": pd.array([], dtype="string[pyarrow]")})
    rules = [
        RULES[0],
        rule(type="expect_table_row_count_to_be_between", min_value=1, severity="warn"),
    ]
    [[not_null, row_count]] = validate_partitions(frame, rules, Partitions.single(0))
    assert not_null.success and not row_count.success and row_count.observed_value == 0


def test_categorical_columns_give_the_same_outcomes(frame_and_partitions):
    """The checks read strings as categoricals (from the Parquet dictionaries): every rule,
    sample included, must come out as on the plain columns."""
    frame, partitions = frame_and_partitions
    categorical = frame.astype({"s": "category", "k2": "category"})
    plain = validate_partitions(frame, RULES, partitions)
    from_categories = validate_partitions(categorical, RULES, partitions)
    for mine, theirs in zip(plain, from_categories, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert (a.success, a.unexpected_count, a.missing_count, a.sample, a.exception) == (
                b.success,
                b.unexpected_count,
                b.missing_count,
                b.sample,
                b.exception,
            ), a.expectation.name


def test_memoized_configurations_change_no_result(frame_and_partitions):
    """gx_overhead builds an expectation's configuration once per validation: the results
    equal great_expectations' own, run with the cache off."""
    from etl_assets.quality.engine import gx_patches as gx_overhead

    frame, _ = frame_and_partitions
    ge = runtime()
    rules = [r for r in RULES if r.kind.scope != "table"]

    def validate(memoized: bool) -> dict:
        suite = ge.gx.ExpectationSuite(name="t", expectations=[ge.expectation(r) for r in rules])
        batch = ge.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        if memoized:
            with gx_overhead.memoized_configurations():
                result = batch.validate(suite, result_format="COMPLETE")
        else:
            result = batch.validate(suite, result_format="COMPLETE")
        return {
            r.expectation_config.meta["check"]: (r.success, r.result.get("unexpected_index_list"))
            for r in result.results
        }

    assert gx_overhead._configurations is not None  # installed by runtime()
    assert validate(memoized=True) == validate(memoized=False)


def test_gx_overhead_leaves_an_unknown_great_expectations_alone(monkeypatch):
    """If a release no longer has the `configuration` property, nothing is replaced and
    validation runs unmemoized."""
    from great_expectations.expectations.expectation import Expectation as GxExpectation

    from etl_assets.quality.engine import gx_patches as gx_overhead

    runtime()
    monkeypatch.setattr(gx_overhead, "_configurations", None)
    monkeypatch.setattr(GxExpectation, "configuration", lambda self: "not a property")
    gx_overhead.install()
    assert gx_overhead._configurations is None
    assert GxExpectation.__dict__["configuration"](None) == "not a property"
    with gx_overhead.memoized_configurations():  # inactive: a plain block
        pass

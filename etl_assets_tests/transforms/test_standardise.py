import pandas as pd
import pytest

from etl_assets.transforms.standardise import (
    STRING_DTYPE,
    canonical_country,
    collapse_spaces,
    lower,
    map_unique,
    standardise,
    title,
    trim,
    upper,
)


def strings(*values):
    return pd.Series(list(values), dtype=STRING_DTYPE)


def as_list(series):
    return [None if pd.isna(v) else v for v in series]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (trim, ["a  B", "x", "", None]),
        (collapse_spaces, [" a B ", "x", " ", None]),
        (upper, ["  A  B ", "X", "   ", None]),
        (lower, ["  a  b ", "x", "   ", None]),
        (title, ["  A  B ", "X", "   ", None]),
    ],
)
def test_each_op_keeps_nulls_and_string_dtype(op, expected):
    result = op(strings("  a  B ", "x", "   ", None))
    assert as_list(result) == expected
    assert result.dtype == STRING_DTYPE


def test_title_capitalises_every_word():
    assert as_list(title(strings("hand WARMER red", "o'neil"))) == ["Hand Warmer Red", "O'Neil"]


def test_collapse_spaces_joins_tabs_and_newlines():
    assert as_list(collapse_spaces(strings("a\t\tb\n c"))) == ["a b c"]


def test_standardise_applies_ops_in_order_then_empty_is_null():
    ops = ["trim", "collapse_spaces", "upper"]
    result = standardise(strings("  white   heart ", "   ", "", None), ops)
    assert as_list(result) == ["WHITE HEART", None, None, None]
    assert result.dtype == STRING_DTYPE


def test_standardise_without_ops_only_nulls_empty_strings():
    assert as_list(standardise(strings(" a ", ""), [])) == [" a ", None]


def test_standardise_accepts_object_strings():
    result = standardise(pd.Series([" x ", None], dtype=object), ["trim"])
    assert as_list(result) == ["x", None]
    assert result.dtype == STRING_DTYPE


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("EIRE", "Ireland"),
        ("eire", "Ireland"),
        ("RSA", "South Africa"),
        ("USA", "United States"),
        ("usa", "United States"),
        ("UK", "United Kingdom"),
        ("Unspecified", "Unknown"),
        ("European Community", "European Community"),
        ("united   kingdom", "United Kingdom"),
        (" UNITED KINGDOM ", "United Kingdom"),
        ("hong kong", "Hong Kong"),
        ("united arab emirates", "United Arab Emirates"),
        ("Czech Republic", "Czech Republic"),
        ("Channel Islands", "Channel Islands"),
        ("Saudi Arabia", "Saudi Arabia"),
        ("Ireland", "Ireland"),
        ("new  zealand", "New Zealand"),  # not a known country: title case
        ("ATLANTIS", "Atlantis"),
    ],
)
def test_canonical_country(raw, canonical):
    assert as_list(canonical_country(strings(raw))) == [canonical]


def test_canonical_country_keeps_nulls_and_empty_and_index():
    values = pd.Series(["eire", None, "", "eire"], index=[10, 11, 12, 13], dtype=STRING_DTYPE)
    result = canonical_country(values)
    assert as_list(result) == ["Ireland", None, "", "Ireland"]
    assert list(result.index) == [10, 11, 12, 13]
    assert result.dtype == STRING_DTYPE


def test_map_unique_calls_the_function_once_per_distinct_value():
    seen = []

    def shout(distinct):
        seen.extend(distinct)
        return [v.upper() for v in distinct]

    result = map_unique(strings("a", "b", "a", None, "a"), shout, STRING_DTYPE)
    assert as_list(result) == ["A", "B", "A", None, "A"]
    assert sorted(seen) == ["a", "b"]

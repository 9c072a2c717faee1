"""Vectorized string standardisation for silver: the `standardise` ops of a declaration.

Every function takes and returns a `string[pyarrow]` Series, so the work runs in Arrow
compute kernels. Per-value Python work (country names) runs on the unique values only and
is mapped back, which keeps it cheap on millions of rows with few distinct values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

STRING_DTYPE = "string[pyarrow]"

# Online Retail spellings and their aliases, keyed by a case- and space-insensitive form.
_ALIASES = {
    "EIRE": "Ireland",
    "RSA": "South Africa",
    "USA": "United States",
    "UK": "United Kingdom",
    "Unspecified": "Unknown",
}
_KNOWN_COUNTRIES = (
    "United Kingdom",
    "France",
    "Germany",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
    "Norway",
    "Italy",
    "Channel Islands",
    "Finland",
    "Cyprus",
    "Sweden",
    "Austria",
    "Denmark",
    "Japan",
    "Poland",
    "Israel",
    "Hong Kong",
    "Singapore",
    "Iceland",
    "Canada",
    "Greece",
    "Malta",
    "United Arab Emirates",
    "Lebanon",
    "Lithuania",
    "Brazil",
    "Czech Republic",
    "Bahrain",
    "Saudi Arabia",
    "European Community",
    # the targets of the aliases are canonical too
    "Ireland",
    "South Africa",
    "United States",
    "Unknown",
)


def _lookup_key(value: str) -> str:
    return " ".join(value.split()).casefold()


COUNTRY_SPELLINGS: dict[str, str] = {
    **{_lookup_key(name): name for name in _KNOWN_COUNTRIES},
    **{_lookup_key(alias): name for alias, name in _ALIASES.items()},
}


def as_strings(values: pd.Series) -> pd.Series:
    """The values as `string[pyarrow]` (a no-op when they already are)."""
    if values.dtype == STRING_DTYPE:
        return values
    return values.astype(STRING_DTYPE)


def map_unique(values: pd.Series, convert: Callable[[pd.Index], Iterable], dtype) -> pd.Series:
    """Apply `convert` to the distinct non-null values only and map the result back.

    `convert` gets an Index of distinct values and returns one result per value; nulls stay
    null. This is how per-value Python work stays fast on millions of repetitive rows.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = pd.array(convert(uniques), dtype=dtype)
    return pd.Series(converted.take(codes, allow_fill=True), index=values.index, name=values.name)


def trim(values: pd.Series) -> pd.Series:
    return values.str.strip()


def collapse_spaces(values: pd.Series) -> pd.Series:
    return values.str.replace(r"\s+", " ", regex=True)


def upper(values: pd.Series) -> pd.Series:
    return values.str.upper()


def lower(values: pd.Series) -> pd.Series:
    return values.str.lower()


def title(values: pd.Series) -> pd.Series:
    return values.str.title()


def _canonical_country_name(value: str) -> str:
    key = _lookup_key(value)
    if not key:
        return ""
    return COUNTRY_SPELLINGS.get(key) or " ".join(value.split()).title()


def canonical_country(values: pd.Series) -> pd.Series:
    """One spelling per country, case- and whitespace-insensitive.

    Known Online Retail countries keep their spelling, aliases map to it (EIRE -> Ireland,
    RSA -> South Africa, USA -> United States, UK -> United Kingdom, Unspecified ->
    Unknown), anything else becomes the title case of the trimmed value.
    """
    values = as_strings(values)
    return map_unique(
        values, lambda names: [_canonical_country_name(n) for n in names], STRING_DTYPE
    )


def empty_to_null(values: pd.Series) -> pd.Series:
    """Silver has no empty strings: an empty value is a missing one."""
    return values.mask(values.str.len() == 0)


STANDARDISE_OPS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "trim": trim,
    "collapse_spaces": collapse_spaces,
    "upper": upper,
    "lower": lower,
    "title": title,
    "country": canonical_country,
}


def standardise(values: pd.Series, ops: Iterable[str]) -> pd.Series:
    """Apply the declared ops in order, then turn empty strings into nulls."""
    values = as_strings(values)
    for op in ops:
        values = STANDARDISE_OPS[op](values)
    return empty_to_null(values)

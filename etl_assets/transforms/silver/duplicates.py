"""Duplicates and versions: among the rows passing the built-in rules, those whose business
key repeats a kept row are removed (equal) or quarantined (conflicting).

For most sources the first row of a key (in output order) is kept. A source read by a
watermark (connector postgres) logs every version of a row in bronze: there the latest
version wins (`find_versions`), older ones are removed as superseded, and only two rows
with the same key, watermark and batch that differ conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl_assets.sources import SourceSpec
from etl_assets.transforms.silver.bronze_rows import BronzeRows
from etl_assets.transforms.silver.casting import CastColumn
from etl_assets.transforms.standardise import STRING_DTYPE


def can_conflict(spec: SourceSpec) -> bool:
    # With every column in the key, two rows sharing it are equal: only exact duplicates.
    return bool(spec.business_key) and set(spec.business_key) != set(spec.target_columns)


@dataclass(frozen=True)
class Duplicates:
    removed: np.ndarray  # run positions dropped: exact duplicates (or superseded versions)
    conflicting: np.ndarray  # run positions sharing a kept row's key with other values
    kept_for_conflicting: np.ndarray  # the kept row each conflicting row collides with
    superseded: int = 0  # of `removed`: older versions of a key (sources read by watermark)


HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so the mixing loses no information


def _key_hash(code_columns: Iterator[np.ndarray], length: int) -> np.ndarray:
    """A 64-bit polynomial hash of each row's codes (equal codes give equal hashes)."""
    hashes = np.zeros(length, dtype=np.uint64)
    for codes in code_columns:  # in place: ten million uint64 per temporary add up
        np.multiply(hashes, HASH_MULTIPLIER, out=hashes)
        # (uint64 + int64 would go through float64 and lose bits)
        np.add(hashes, codes.astype(np.uint64, copy=False), out=hashes)
        np.add(hashes, np.uint64(1), out=hashes)
    return hashes


def _exact_ids(code_columns: Iterator[np.ndarray], length: int) -> np.ndarray:
    """One int64 per distinct combination of codes, with no collisions (slower)."""
    ids = np.zeros(length, dtype=np.int64)
    distinct = 1
    for codes in code_columns:
        width = int(codes.max()) + 1 if length else 1
        if distinct * width >= 2**62:  # renumber before the combined id can overflow
            ids, seen = pd.factorize(ids)
            distinct = max(len(seen), 1)
        ids = ids * width + codes
        distinct *= width
    return ids


def _first_of_group(ids: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same id.

    Most ids are unique. Sorting the bare values (fast) finds the repeated ones; only the
    rows holding those go through the slower stable sort that knows first positions. On
    ten million mostly distinct ids this beats a hash table, whose lookups miss the cache.
    """
    first = np.arange(len(ids))
    ordered = np.sort(ids)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeats) == 0:
        return first
    candidates = np.flatnonzero(pd.Series(ids).isin(np.unique(repeats)).to_numpy())
    _, first_index, group = np.unique(ids[candidates], return_index=True, return_inverse=True)
    first[candidates] = candidates[first_index[group.reshape(-1)]]
    return first


def _differs_from_kept(codes: Iterator[np.ndarray], kept: np.ndarray) -> np.ndarray:
    """Per row: does any of the code columns differ from the row at `kept`."""
    differs = np.zeros(len(kept), dtype=bool)
    for column in codes:
        differs |= column != column[kept]
    return differs


def _first_of_key(key_codes: Callable[[], Iterator[np.ndarray]], length: int) -> np.ndarray:
    """For each row, the index of the first row with the same key codes."""
    kept_index = _first_of_group(_key_hash(key_codes(), length))
    if _differs_from_kept(key_codes(), kept_index).any():  # a hash collision: go exact
        kept_index = _first_of_group(_exact_ids(key_codes(), length))
    return kept_index


def find_duplicates(
    casts: dict[str, CastColumn], day: np.ndarray | None, passing: np.ndarray, spec: SourceSpec
) -> Duplicates:
    """Among `passing` run positions (in keep-first order), the rows whose business key (and
    day) repeats an earlier row: exact duplicates are removed, the others conflict."""
    empty = np.array([], dtype=np.int64)
    if not spec.business_key or len(passing) == 0:
        return Duplicates(empty, empty, empty)

    def key_codes() -> Iterator[np.ndarray]:
        for target in spec.business_key:
            yield casts[target].codes[passing]
        if day is not None:
            yield pd.factorize(day[passing])[0]

    kept_index = _first_of_key(key_codes, len(passing))
    is_later = kept_index != np.arange(len(passing))
    conflicting = np.zeros(len(passing), dtype=bool)
    if can_conflict(spec):
        values = (casts[t].codes[passing] for t in spec.target_columns)
        conflicting = is_later & _differs_from_kept(values, kept_index)
    return Duplicates(
        removed=passing[is_later & ~conflicting],
        conflicting=passing[conflicting],
        kept_for_conflicting=passing[kept_index[conflicting]],
    )


# --------------------------------------------------------------------------- versions


def versioned_by(spec: SourceSpec) -> str | None:
    """The silver column ordering the versions of a business key, for a source whose bronze
    logs every version it extracted (connector postgres: its watermark); else None."""
    if spec.postgres is None or not spec.business_key:
        return None
    return next(c.target for c in spec.columns if c.name == spec.postgres.watermark)


def latest_first(
    bronze: pd.DataFrame, rows: BronzeRows, watermark: CastColumn, positions: np.ndarray
) -> np.ndarray:
    """`positions` ordered latest version first: the later watermark (a null is the oldest),
    then the later batch (`_ingested_at`), then the later row of the log (`_row_number`)."""
    rank, _ = pd.factorize(watermark.values, sort=True)  # distinct values: rank, null -1
    ingested = pd.DatetimeIndex(pd.to_datetime(bronze["_ingested_at"], utc=True))
    keys = (
        rows.numbers("_row_number")[positions],
        ingested.as_unit("ns").asi8[rows.rows[positions]],
        rank[watermark.codes[positions]],
    )
    return positions[np.lexsort(keys)[::-1]]  # the last key sorts first; all descending


def find_versions(
    casts: dict[str, CastColumn],
    passing: np.ndarray,
    batch: np.ndarray,
    spec: SourceSpec,
    watermark: str,
) -> Duplicates:
    """Among `passing` run positions (latest version first) of a versioned source, the rows
    that a row before them supersedes: same business key, or for a history same key and
    watermark (each other version becomes a history row). A row with the superseding row's
    watermark and batch but other values is a true conflict (the source holds two rows for
    one key at one time); the others are removed: older versions and exact repeats."""
    empty = np.array([], dtype=np.int64)
    if len(passing) == 0:
        return Duplicates(empty, empty, empty)
    key = [*spec.business_key, watermark] if spec.is_history else list(spec.business_key)

    def key_codes() -> Iterator[np.ndarray]:
        for target in key:
            yield casts[target].codes[passing]

    kept_index = _first_of_key(key_codes, len(passing))
    kept = passing[kept_index]
    is_later = kept_index != np.arange(len(passing))
    values = (casts[t].codes[passing] for t in spec.target_columns)
    differs = _differs_from_kept(values, kept_index)
    stamp = casts[watermark].codes
    same_version = (stamp[passing] == stamp[kept]) & (batch[passing] == batch[kept])
    conflicting = is_later & differs & same_version
    removed = is_later & ~conflicting
    return Duplicates(
        removed=passing[removed],
        conflicting=passing[conflicting],
        kept_for_conflicting=kept[conflicting],
        superseded=int((removed & differs).sum()),
    )


def describe_conflicts(
    bronze: BronzeRows, casts: dict[str, CastColumn], spec: SourceSpec, duplicates: Duplicates
) -> pd.Series:
    rows, kept = duplicates.conflicting, duplicates.kept_for_conflicting
    if len(rows) == 0:
        return pd.Series([], dtype=STRING_DTYPE)
    no_name = pa.scalar(None, pa.string())
    differing = []
    for target in spec.target_columns:
        if target not in spec.business_key:
            codes = casts[target].codes
            differs = pa.array(codes[rows] != codes[kept])
            differing.append(pc.if_else(differs, pa.scalar(target), no_name))
    names = pc.binary_join_element_wise(*differing, ", ", null_handling="skip")
    differs_in = pd.Series(pd.arrays.ArrowStringArray(names.cast(pa.large_string())))
    kept_file = bronze.column("_source_file", kept).fillna("?")
    kept_row = pd.Series(bronze.numbers("_row_number")[kept]).astype(STRING_DTYPE)
    key = ", ".join(spec.business_key)
    return (
        f"business key ({key}) already kept from "
        + kept_file
        + " row "
        + kept_row
        + "; differs in "
        + differs_in
    )

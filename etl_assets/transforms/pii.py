"""Keyed hashing of personal data: silver keeps a stable pseudonym, never the value."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from etl_assets.transforms.standardise import STRING_DTYPE, as_strings, map_unique


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise TypeError(f"the PII key must be bytes, got {type(key).__name__}")
    if not key:
        raise ValueError("the PII key is empty; an empty key gives the hashes no protection")


def hmac_hex(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each value (UTF-8) as 64 hex characters; nulls stay null.

    Only the distinct values are hashed, then mapped back to the rows.
    """
    _check_key(key)
    key = bytes(key)

    def digest_all(distinct: pd.Index) -> list[str]:
        return [
            hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest() for value in distinct
        ]

    return map_unique(as_strings(values), digest_all, STRING_DTYPE)

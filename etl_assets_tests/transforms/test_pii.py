import hashlib
import hmac

import pandas as pd
import pytest

from etl_assets.transforms.pii import hmac_hex
from etl_assets.transforms.standardise import STRING_DTYPE

KEY = b"test-key"


def expected_digest(value: str, key: bytes = KEY) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def test_hmac_hex_is_hmac_sha256_hex_of_each_value():
    result = hmac_hex(pd.Series(["a@x.com", "b@y.org"], dtype=STRING_DTYPE), KEY)
    assert list(result) == [expected_digest("a@x.com"), expected_digest("b@y.org")]
    assert result.dtype == STRING_DTYPE
    assert all(len(v) == 64 for v in result)


def test_hmac_hex_is_deterministic_and_repeats_for_equal_values():
    values = pd.Series(["a@x.com", "a@x.com", "ü@x.com"], dtype=STRING_DTYPE)
    first, second = hmac_hex(values, KEY), hmac_hex(values, KEY)
    assert list(first) == list(second)
    assert first[0] == first[1] != first[2]
    assert first[2] == expected_digest("ü@x.com")


def test_hmac_hex_depends_on_the_key():
    values = pd.Series(["a@x.com"], dtype=STRING_DTYPE)
    assert hmac_hex(values, b"one")[0] != hmac_hex(values, b"two")[0]


def test_hmac_hex_keeps_nulls_null():
    result = hmac_hex(pd.Series([None, "a@x.com", None], dtype=STRING_DTYPE), KEY)
    assert result.isna().tolist() == [True, False, True]


def test_hmac_hex_refuses_missing_or_empty_keys():
    values = pd.Series(["a"], dtype=STRING_DTYPE)
    with pytest.raises(TypeError, match="must be bytes"):
        hmac_hex(values, "not-bytes")
    with pytest.raises(ValueError, match="empty"):
        hmac_hex(values, b"")

"""The generator's knobs and their checks: dirt rates, size limits, one random stream per
purpose, and the validation of `generate_sample`'s arguments."""

from __future__ import annotations

import datetime as dt
import math
import operator
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIRT_RATES: dict[str, float] = {
    "duplicates": 0.01,
    "cancellations": 0.02,
    "missing_customer_id": 0.20,
    "zero_price": 0.005,
    "negative_price": 0.001,
    "non_product": 0.01,
    "description_noise": 0.05,
    "country_noise": 0.03,
    "unparseable_quantity": 0.002,
    "unparseable_date": 0.002,
    "missing_invoice_no": 0.0005,
    "missing_stock_code": 0.0005,
    "latin1": 0.002,
    "late_rows": 0.02,
}
# Kinds that make the pipeline quarantine the line. The order is the order they are drawn
# in: the constrained ones first, while the pool of candidate lines is largest.
REJECTING_KINDS: tuple[str, ...] = (
    "missing_invoice_no",
    "missing_stock_code",
    "negative_price",
    "unparseable_quantity",
    "unparseable_date",
    "latin1",
)
# Keys of one day's orders counts in the manifest, in the order they are written.
ORDER_COUNT_KEYS: tuple[str, ...] = (
    "lines",
    "duplicates",
    "cancellations",
    "missing_customer_id",
    "zero_price",
    "negative_price",
    "non_product",
    "description_noise",
    "country_noise",
    "country_alias",
    "unparseable_quantity",
    "unparseable_date",
    "missing_invoice_no",
    "missing_stock_code",
    "latin1",
    "late_rows",
    "rejected",
)
MIN_PRODUCTS, MAX_PRODUCTS = 10, 50_000
MAX_CUSTOMERS = 1_000_000
# One independent random stream per purpose (and per day), so that changing one part
# (the number of days, say) leaves the others unchanged.
_STREAMS = {"products": 1, "customers": 2, "customer_changes": 3, "orders": 4}


class SampleError(ValueError):
    """Bad arguments for `generate_sample`."""


@dataclass(frozen=True)
class Params:
    out_dir: Path
    start: dt.date
    days: int
    rows_per_day: int
    seed: int
    customers: int
    products: int


def _parse_start(start: dt.date | str) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    if isinstance(start, str):
        try:
            return dt.date.fromisoformat(start.strip())
        except ValueError:
            pass
    raise SampleError(f"start must be a date or a 'YYYY-MM-DD' string, got {start!r}")


def _bounded_int(name: str, value: object, minimum: int, maximum: int) -> int:
    if isinstance(value, bool):
        raise SampleError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise SampleError(f"{name} must be an integer, got {value!r}") from None
    if not minimum <= number <= maximum:
        raise SampleError(f"{name} must be between {minimum:,} and {maximum:,}, got {number:,}")
    return number


def check_rates(rates: dict[str, float]) -> None:
    missing = set(DIRT_RATES) - set(rates)
    if missing:
        raise SampleError(f"DIRT_RATES lacks {sorted(missing)}")
    for kind, rate in rates.items():
        if not 0 <= rate <= 1:
            raise SampleError(f"DIRT_RATES[{kind!r}] must be between 0 and 1, got {rate}")
    # Rejecting, late and duplicated lines must leave most lines clean.
    reserved = sum(rates[k] for k in REJECTING_KINDS) + rates["late_rows"] + rates["duplicates"]
    if reserved > 0.5:
        raise SampleError(f"rejecting + late_rows + duplicates rates add up to {reserved} > 0.5")


def validate(out_dir, start, days, rows_per_day, seed, customers, products) -> Params:
    if not isinstance(out_dir, str | os.PathLike) or not str(out_dir):
        raise SampleError(f"out_dir must be a non-empty path, got {out_dir!r}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise SampleError(f"out_dir {str(out_dir)!r} exists and is not a directory")
    first_day = _parse_start(start)
    days = _bounded_int("days", days, 1, 100_000)
    try:
        first_day + dt.timedelta(days=days - 1)
    except OverflowError:
        raise SampleError(f"start {first_day} + {days} days is past the year 9999") from None
    return Params(
        out_dir=Path(out_dir),
        start=first_day,
        days=days,
        rows_per_day=_bounded_int("rows_per_day", rows_per_day, 1, 50_000_000),
        seed=_bounded_int("seed", seed, 0, 2**63 - 1),
        customers=_bounded_int("customers", customers, 1, MAX_CUSTOMERS),
        products=_bounded_int("products", products, MIN_PRODUCTS, MAX_PRODUCTS),
    )


def random_stream(seed: int, stream: str, day: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[stream], day])


def count_at_rate(lines: int, rate: float) -> int:
    """Number of lines for a rate, rounded half up (stable across platforms)."""
    return math.floor(lines * rate + 0.5)


def reject_code(kind: str) -> int:
    return REJECTING_KINDS.index(kind) + 1

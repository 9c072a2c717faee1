"""Benchmark `clean_source` on synthetic orders bronze frames.

    .venv/bin/python -m bench.bench_silver                  # 1M and 10M rows
    .venv/bin/python -m bench.bench_silver --rows 1000000   # one size, this process

Each size runs in its own process so its peak memory is its own. Peak memory is sampled
from /proc/self/statm (Arrow buffers are invisible to tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from bench.memory import PeakRss
from etl_assets.sources import load_sources
from etl_assets.transforms.silver import clean_source

STRING = "string[pyarrow]"
LANDING_DAY = pd.Timestamp("2010-12-02")
COUNTRIES = [
    "United Kingdom",
    "France",
    "Germany",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
    "Norway",
    "Italy",
    " united kingdom ",
    "USA",
    "RSA",
    "Unspecified",
    "Channel Islands",
    "Japan",
]


def _strings(distinct: list[str], codes: np.ndarray) -> pd.Series:
    """A string[pyarrow] column built by taking distinct values (fast, like a real file)."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(distinct, pa.large_string()).take(codes)))


def synthetic_orders_bronze(rows: int, seed: int = 7) -> pd.DataFrame:
    """Orders bronze for one landing day: ~5% late rows of the day before, ~1% exact
    duplicates, ~0.5% bad quantities, ~0.3% negative prices, 25% missing customers."""
    rng = np.random.default_rng(seed)
    invoice = rng.integers(0, max(rows // 20, 1), rows)
    stock = rng.integers(0, 4000, rows)
    late = rng.random(rows) < 0.05
    minute = rng.integers(0, 24 * 60, rows)
    day = np.where(late, "12/1/2010", "12/2/2010")
    stock_codes = [f"{85000 + i}{'A' if i % 7 == 0 else ''}" for i in range(4000)]
    descriptions = [f"  PRODUCT  NUMBER {i} " for i in range(4000)]
    times = [f"{m // 60}:{m % 60:02d}" for m in range(24 * 60)]
    dates = pd.Series(day, dtype=STRING) + " " + _strings(times, minute)
    quantities = [str(q) for q in range(-5, 50)] + ["12x"]
    quantity = np.where(rng.random(rows) < 0.005, len(quantities) - 1, rng.integers(0, 55, rows))
    prices = [f"{p / 100:.2f}" for p in range(1, 2000)] + ["-1.00"]
    price = np.where(rng.random(rows) < 0.003, len(prices) - 1, rng.integers(0, 1999, rows))
    customers = [""] + [f"{12000 + c}.0" for c in range(4000)]
    customer = np.where(rng.random(rows) < 0.25, 0, rng.integers(1, 4001, rows))
    invoices = [f"{'C' if i % 50 == 0 else ''}{536000 + i}" for i in range(max(rows // 20, 1))]
    frame = pd.DataFrame(
        {
            "InvoiceNo": _strings(invoices, invoice),
            "StockCode": _strings(stock_codes, stock),
            "Description": _strings(descriptions, stock),
            "Quantity": _strings(quantities, quantity),
            "InvoiceDate": dates,
            "UnitPrice": _strings(prices, price),
            "CustomerID": _strings(customers, customer),
            "Country": _strings(COUNTRIES, rng.integers(0, len(COUNTRIES), rows)),
        }
    )
    duplicate = np.flatnonzero(rng.random(rows) < 0.01)
    source = np.arange(rows)
    source[duplicate] = np.maximum(duplicate - 1, 0)  # copy the previous line
    frame = frame.take(source).reset_index(drop=True)
    frame["_source_file"] = _strings(["orders/orders_2010-12-02.csv"], np.zeros(rows, int))
    frame["_batch_id"] = _strings(["bench-run"], np.zeros(rows, int))
    frame["_ingested_at"] = pd.Timestamp("2024-01-01", tz="UTC")
    frame["_row_number"] = np.arange(1, rows + 1, dtype=np.int64)
    frame["_landing_date"] = LANDING_DAY
    frame["_read_error"] = pd.Series(pd.NA, index=frame.index, dtype=STRING)
    return frame


def measure(rows: int) -> dict:
    spec = load_sources()["orders"]
    bronze = synthetic_orders_bronze(rows)
    before = PeakRss.current()
    with PeakRss() as memory:
        started = time.perf_counter()
        result = clean_source(bronze, spec, days=[LANDING_DAY - pd.Timedelta(days=1), LANDING_DAY])
        seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before / 2**20),
        "peak_rss_mb": round(memory.peak / 2**20),
        "peak_added_mb": round((memory.peak - before) / 2**20),
        "clean": len(result.clean),
        "quarantined": len(result.quarantine),
        "duplicates_removed": result.duplicates_removed,
        "late_rows": result.late_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="one size, measured in this process")
    args = parser.parse_args()
    if args.rows:
        print(json.dumps(measure(args.rows)))
        return
    for rows in (1_000_000, 10_000_000):
        subprocess.run(
            [sys.executable, "-m", "bench.bench_silver", "--rows", str(rows)], check=True
        )


if __name__ == "__main__":
    main()

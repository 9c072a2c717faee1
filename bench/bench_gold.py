"""Time the gold marts on a large synthetic silver orders frame.

    .venv/bin/python -m bench.bench_gold [--rows 10000000] [--repeat 3]

Synthetic data shaped like a year of "Online Retail" scaled up: invoices of ~20 lines,
365 days, 38 countries, 4,000 stock codes (some not in the catalogue), 2% cancelled
invoices, ~1% non-product lines, 25% lines without customer. String columns are
pyarrow-backed, as silver reads them from Parquet.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from etl_assets.transforms.gold.customers import cohort_retention, customer_rfm
from etl_assets.transforms.gold.products import product_performance
from etl_assets.transforms.gold.sales import daily_sales


def _text(values: np.ndarray, codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """values[codes] as a pyarrow-backed string array, built without Python strings
    per row (a dictionary array decoded by pyarrow)."""
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values))
    return pd.array(dictionary.cast(pa.string()), dtype="string[pyarrow]")


def synthetic_orders(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_invoices = max(rows // 20, 1)
    invoice = np.sort(rng.integers(0, n_invoices, rows))
    cancelled = rng.random(n_invoices) < 0.02
    invoice_day = rng.integers(0, 365, n_invoices)
    invoice_customer = rng.integers(12_000, 12_000 + max(rows // 120, 1), n_invoices)
    invoice_has_customer = rng.random(n_invoices) >= 0.25
    invoice_country = rng.integers(0, 38, n_invoices)

    codes = np.array([f"{20000 + i}" for i in range(4000)] + ["POST", "M", "BANK CHARGES"])
    code = rng.integers(0, 4000, rows)
    non_product = rng.random(rows) < 0.01
    code[non_product] = 4000 + rng.integers(0, 3, int(non_product.sum()))
    descriptions = np.array([f"PRODUCT {i}" for i in range(codes.size)])

    invoice_names = np.char.add(
        np.where(cancelled, "C", ""), np.char.mod("%d", 536000 + np.arange(n_invoices))
    )
    countries = np.array([f"Country {i:02d}" for i in range(38)])
    quantity = rng.integers(1, 25, rows) * np.where(cancelled[invoice], -1, 1)
    unit_price = np.round(rng.gamma(2.0, 2.0, rows), 2)
    order_date = np.datetime64("2024-01-01", "ns") + invoice_day[invoice].astype("timedelta64[D]")
    customer = pd.array(invoice_customer[invoice], dtype="Int64")
    customer[~invoice_has_customer[invoice]] = pd.NA

    orders = pd.DataFrame(
        {
            "invoice_no": _text(invoice_names, invoice),
            "stock_code": _text(codes, code),
            "description": _text(descriptions, code),
            "quantity": pd.array(quantity, dtype="Int64"),
            "invoice_date": order_date + np.timedelta64(10, "h"),
            "unit_price": pd.array(unit_price, dtype="Float64"),
            "customer_id": customer,
            "country": _text(countries, invoice_country[invoice]),
            "is_cancellation": pd.array(cancelled[invoice], dtype="boolean"),
            "is_non_product": pd.array(code >= 4000, dtype="boolean"),
        }
    )
    orders["line_value"] = orders["quantity"].astype("Float64") * orders["unit_price"]
    orders["order_date"] = order_date
    return orders


def synthetic_products() -> pd.DataFrame:
    # 3,600 of the 4,000 codes are catalogued: the rest exercise the fallback names.
    codes = [f"{20000 + i}" for i in range(3600)]
    return pd.DataFrame(
        {
            "stock_code": pd.array(codes, dtype="string"),
            "description": pd.array([f"CATALOGUE {c}" for c in codes], dtype="string"),
            "category": pd.array([f"Category {i % 12}" for i in range(3600)], dtype="string"),
            "list_price": pd.array(np.full(3600, 2.5), dtype="Float64"),
            "is_non_product": pd.array(np.zeros(3600, dtype=bool), dtype="boolean"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    orders = synthetic_orders(args.rows)
    products = synthetic_products()
    print(
        f"{len(orders):,} rows generated in {time.perf_counter() - started:.1f}s "
        f"({orders.memory_usage(deep=True).sum() / 2**20:,.0f} MiB)"
    )
    marts = {
        "daily_sales": lambda: daily_sales(orders),
        "customer_rfm": lambda: customer_rfm(orders),
        "product_performance": lambda: product_performance(orders, products),
        "cohort_retention": lambda: cohort_retention(orders),
    }
    for name, run in marts.items():
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = run()
            seconds.append(time.perf_counter() - started)
        median = sorted(seconds)[len(seconds) // 2]
        print(
            f"{name:<20} best {min(seconds):6.2f}s  median {median:6.2f}s  -> {len(result):,} rows"
        )


if __name__ == "__main__":
    main()

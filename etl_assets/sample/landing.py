"""`generate_sample`: writes the landing files (orders, customers, products) and the
manifest, day by day, each file atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from etl_assets.sample.catalogue import build_catalogue, products_columns
from etl_assets.sample.csv_text import csv_text
from etl_assets.sample.customers import (
    apply_customer_changes,
    build_customers,
    buyers_on,
    customers_columns,
)
from etl_assets.sample.orders import orders_day
from etl_assets.sample.parameters import DIRT_RATES, check_rates, random_stream, validate

ORDERS_HEADER = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
CUSTOMERS_HEADER = ("CustomerID", "Email", "Country")
PRODUCTS_HEADER = ("StockCode", "Description", "Category", "UnitPrice")
FIRST_INVOICE_NO = 536365


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers (sensors, the pipeline) never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def generate_sample(
    out_dir: Path | str,
    start: dt.date | str = "2024-01-01",
    days: int = 30,
    rows_per_day: int = 20_000,
    seed: int = 7,
    customers: int = 4000,
    products: int = 1500,
) -> dict:
    """Writes the landing zone under out_dir/landing and returns the manifest dict (also written).

    `start` is the first day (a date or "YYYY-MM-DD"), `days` the number of daily files,
    `rows_per_day` the exact number of lines of each orders file, `customers` the size of the
    customer population (ids from 12346) and `products` the number of regular stock codes.
    Raises SampleError on bad arguments, before writing anything.

    Files of an earlier run that this one does not produce (more days, another start) are
    left in place: generate into a fresh directory when that matters.
    """
    params = validate(out_dir, start, days, rows_per_day, seed, customers, products)
    rates = dict(DIRT_RATES)
    check_rates(rates)
    landing = params.out_dir / "landing"
    catalogue = build_catalogue(params.seed, params.products)
    population = build_customers(params.seed, params.customers)

    manifest: dict = {
        "seed": params.seed,
        "start": params.start.isoformat(),
        "days": params.days,
        "rows_per_day": params.rows_per_day,
        "population": {"customers": params.customers, "products": params.products},
        "rates": rates,
        "orders": {},
        "customers": {},
        "products": {},
    }
    next_invoice_no = FIRST_INVOICE_NO
    buyers_yesterday = buyers_on(population, 0)
    for day_index in range(params.days):
        day = (params.start + dt.timedelta(days=day_index)).isoformat()
        changes_rng = random_stream(params.seed, "customer_changes", day_index)
        changed = apply_customer_changes(population, changes_rng, day_index) if day_index else 0
        customer_columns = customers_columns(population, day_index)
        _write_atomically(
            landing / "customers" / f"customers_{day}.csv",
            csv_text(CUSTOMERS_HEADER, customer_columns).encode("ascii"),
        )
        joined = int((population.signup_day == day_index).sum())
        manifest["customers"][day] = {
            "rows": len(customer_columns[0]),
            "changed": changed,
            "joined": joined,
        }

        buyers_today = buyers_on(population, day_index)
        orders = orders_day(
            params, rates, day_index, catalogue, buyers_today, buyers_yesterday, next_invoice_no
        )
        # UTF-8; the latin1 lines' descriptions hold their latin-1 bytes as surrogate escapes.
        _write_atomically(
            landing / "orders" / f"orders_{day}.csv",
            csv_text(ORDERS_HEADER, orders.columns).encode("utf-8", "surrogateescape"),
        )
        manifest["orders"][day] = orders.counts
        next_invoice_no = orders.next_invoice_no
        buyers_yesterday = buyers_today

    product_columns = products_columns(catalogue)
    _write_atomically(
        landing / "products" / "products.csv",
        csv_text(PRODUCTS_HEADER, product_columns).encode("utf-8"),
    )
    manifest["products"] = {"rows": len(product_columns[0])}
    _write_atomically(
        landing / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    )
    return manifest

"""One day's orders file: lines drawn, dirtied and rendered to the eight CSV columns, in
file order, with the day's dirt counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from etl_assets.sample.catalogue import Catalogue
from etl_assets.sample.csv_text import as_text, format_pence
from etl_assets.sample.customers import COUNTRIES, Buyers
from etl_assets.sample.invoices import (
    BUSINESS_MINUTES,
    Invoices,
    Lines,
    add_non_products,
    assign_products,
    draw_invoices,
    duplicate_sources,
    shuffled_order,
)
from etl_assets.sample.noise import (
    LATIN1_MARKS,
    UNPARSEABLE_QUANTITIES,
    add_rejecting_dirt,
    add_soft_dirt,
    count_dirt,
    mark_invoice_dirt,
    noisy_country,
    noisy_description,
    unparseable_date,
)
from etl_assets.sample.parameters import Params, count_at_rate, random_stream, reject_code

MAX_LINES_PER_INVOICE = 30
BULK_QUANTITY, BULK_DISCOUNT = 24, 0.85  # wholesale price tier, as in the original data
QUANTITIES = np.array([1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 36, 48, 72, 96, 144])
QUANTITY_PROBS = np.array([20, 12, 8, 7, 12, 4, 4, 14, 3, 7, 2, 3, 1, 1, 1]) / 99
_TIMES_OF_DAY = np.array(
    [f"{m // 60}:{m % 60:02d}" for m in range(BUSINESS_MINUTES[0], BUSINESS_MINUTES[1] + 1)],
    dtype=object,
)


def _draw_lines(
    rng, invoices: Invoices, catalogue: Catalogue, n_lines: int, rates: dict[str, float]
) -> Lines:
    line_invoice = np.repeat(np.arange(invoices.size.size), invoices.size)
    total = line_invoice.size
    lines = Lines(
        invoice=line_invoice,
        product=assign_products(rng, line_invoice, catalogue.popularity),
        quantity=rng.choice(QUANTITIES, size=total, p=QUANTITY_PROBS),
        price_pence=np.zeros(total, np.int64),
        reject=np.zeros(total, np.int8),
        zero_price=np.zeros(total, bool),
        description_noise=np.zeros(total, bool),
        country_noise=np.zeros(total, bool),
    )
    add_non_products(rng, lines, invoices, catalogue, count_at_rate(n_lines, rates["non_product"]))
    price = catalogue.price_pence[lines.product]
    bulk = (lines.quantity >= BULK_QUANTITY) & (lines.product < catalogue.n_regular)
    price[bulk] = np.maximum(1, np.round(price[bulk] * BULK_DISCOUNT)).astype(np.int64)
    lines.price_pence = price
    lines.quantity[invoices.cancelled[line_invoice]] *= -1
    add_rejecting_dirt(rng, lines, invoices, catalogue, n_lines, rates)
    add_soft_dirt(rng, lines, n_lines, rates)
    return lines


def _date_prefix(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year} "  # like 12/1/2010, no zero padding


def _render_lines(
    rng, lines: Lines, invoices: Invoices, catalogue: Catalogue, day: dt.date
) -> list[np.ndarray]:
    """The eight CSV columns of the base lines, as object arrays of str."""
    inv = lines.invoice
    numbers = invoices.number.astype(str).astype(object)
    invoice_no = np.where(invoices.cancelled, "C" + numbers, numbers)[inv]
    stock_code = catalogue.codes[lines.product]
    description = catalogue.descriptions[lines.product]  # fancy indexing: a copy
    quantity = as_text(lines.quantity)
    yesterday = _date_prefix(day - dt.timedelta(days=1)) if invoices.is_late.any() else ""
    prefixes = np.array([_date_prefix(day), yesterday], dtype=object)
    invoice_date = (
        prefixes[invoices.is_late.astype(int)]
        + _TIMES_OF_DAY[invoices.minute - BUSINESS_MINUTES[0]]
    )[inv]
    price = lines.price_pence.copy()
    price[lines.zero_price] = 0
    customer = np.where(
        invoices.customer_id < 0, "", invoices.customer_id.astype(str).astype(object)
    )[inv]
    country = COUNTRIES[invoices.country][inv]

    for i in np.flatnonzero(lines.description_noise):
        description[i] = noisy_description(rng, description[i])
    for i in np.flatnonzero(lines.country_noise):
        country[i] = noisy_country(rng, country[i])

    reject = lines.reject
    invoice_no[reject == reject_code("missing_invoice_no")] = ""
    stock_code[reject == reject_code("missing_stock_code")] = ""
    negative = reject == reject_code("negative_price")
    price[negative] = -rng.integers(100, 2_000_000, size=int(negative.sum()))
    for i in np.flatnonzero(reject == reject_code("unparseable_quantity")):
        quantity[i] = UNPARSEABLE_QUANTITIES[rng.integers(len(UNPARSEABLE_QUANTITIES))]
    for i in np.flatnonzero(reject == reject_code("unparseable_date")):
        invoice_date[i] = unparseable_date(rng, day)
    for i in np.flatnonzero(reject == reject_code("latin1")):
        # A line saved as latin-1 in a UTF-8 file: its accents are lone bytes >= 0x80 between
        # ASCII, never valid UTF-8 (kept as surrogate escapes until the file is encoded).
        marked = f"{description[i]} {LATIN1_MARKS[rng.integers(len(LATIN1_MARKS))]}"
        description[i] = marked.encode("latin-1").decode("ascii", "surrogateescape")
    return [
        invoice_no,
        stock_code,
        description,
        quantity,
        invoice_date,
        format_pence(price),
        customer,
        country,
    ]


@dataclass(frozen=True)
class OrdersDay:
    columns: list[list[str]]
    counts: dict[str, int]
    next_invoice_no: int


def orders_day(
    params: Params,
    rates: dict[str, float],
    day_index: int,
    catalogue: Catalogue,
    buyers_today: Buyers,
    buyers_yesterday: Buyers,
    first_invoice_no: int,
) -> OrdersDay:
    rng = random_stream(params.seed, "orders", day_index)
    day = params.start + dt.timedelta(days=day_index)
    n_lines = params.rows_per_day
    n_duplicates = count_at_rate(n_lines, rates["duplicates"])
    n_base = n_lines - n_duplicates
    n_late = 0 if day_index == 0 else min(count_at_rate(n_lines, rates["late_rows"]), n_base)
    max_size = min(MAX_LINES_PER_INVOICE, catalogue.n_regular // 2)

    invoices = draw_invoices(
        rng, n_base - n_late, n_late, buyers_today, buyers_yesterday, max_size, first_invoice_no
    )
    mark_invoice_dirt(rng, invoices, n_lines, rates)
    lines = _draw_lines(rng, invoices, catalogue, n_lines, rates)
    columns = _render_lines(rng, lines, invoices, catalogue, day)
    sources = duplicate_sources(rng, lines, invoices, n_duplicates)
    order = shuffled_order(rng, n_base, sources)
    return OrdersDay(
        columns=[column[order].tolist() for column in columns],
        counts=count_dirt(lines, invoices, catalogue, order, n_duplicates),
        next_invoice_no=first_invoice_no + invoices.number.size,
    )

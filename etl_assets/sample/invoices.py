"""Invoices and their lines drawn clean: sizes, times, buyers, distinct products per
invoice, non-product lines, and which lines get copied and in what file order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl_assets.sample.catalogue import NON_PRODUCTS, Catalogue
from etl_assets.sample.parameters import SampleError

MEAN_LINES_PER_INVOICE = 10
BUSINESS_MINUTES = (8 * 60, 20 * 60)  # invoices between 8:00 and 20:00 inclusive


@dataclass
class Invoices:
    number: np.ndarray  # int64
    size: np.ndarray  # int64, lines per invoice
    minute: np.ndarray  # int64, minute of the day
    is_late: np.ndarray  # bool: dated the previous day
    customer_id: np.ndarray  # int64, -1 when missing
    country: np.ndarray  # int64 index into COUNTRIES
    cancelled: np.ndarray  # bool


@dataclass
class Lines:
    invoice: np.ndarray  # int64 index into Invoices
    product: np.ndarray  # int64 index into Catalogue
    quantity: np.ndarray  # int64, negative on cancellations
    price_pence: np.ndarray  # int64
    reject: np.ndarray  # int8: 0 = none, else 1 + index in REJECTING_KINDS
    zero_price: np.ndarray  # bool
    description_noise: np.ndarray  # bool
    country_noise: np.ndarray  # bool


def _invoice_sizes(rng: np.random.Generator, total_lines: int, max_size: int) -> np.ndarray:
    """Invoice sizes in 1..max_size (mostly small, a few big) adding up to total_lines."""
    batches, drawn = [], 0
    while drawn < total_lines:
        batch = np.minimum(
            rng.geometric(1 / MEAN_LINES_PER_INVOICE, size=max(16, total_lines // 4)), max_size
        )
        batches.append(batch)
        drawn += int(batch.sum())
    if not batches:
        return np.zeros(0, np.int64)
    sizes = np.concatenate(batches).astype(np.int64)
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, total_lines))
    sizes = sizes[: last + 1]
    sizes[last] -= ends[last] - total_lines  # trim the last invoice to hit the total exactly
    return sizes


def draw_invoices(
    rng, today_lines, late_lines, buyers_today, buyers_yesterday, max_size, first_number
) -> Invoices:
    today = _invoice_sizes(rng, today_lines, max_size)
    late = _invoice_sizes(rng, late_lines, max_size)
    # Late invoices happened yesterday, so they take the first numbers; then time order.
    minute = np.concatenate(
        [
            np.sort(rng.integers(*BUSINESS_MINUTES, size=n, endpoint=True))
            for n in (late.size, today.size)
        ]
    )
    is_late = np.repeat([True, False], [late.size, today.size])
    customer_id, country = [], []
    for buyers, count in ((buyers_yesterday, late.size), (buyers_today, today.size)):
        picked = rng.choice(buyers.ids.size, size=count, p=buyers.probs)
        customer_id.append(buyers.ids[picked])
        country.append(buyers.country[picked])
    sizes = np.concatenate([late, today])
    return Invoices(
        number=first_number + np.arange(sizes.size, dtype=np.int64),
        size=sizes,
        minute=minute,
        is_late=is_late,
        customer_id=np.concatenate(customer_id),
        country=np.concatenate(country),
        cancelled=np.zeros(sizes.size, bool),
    )


def pick_invoices(rng, sizes: np.ndarray, chosen: np.ndarray, target_lines: int) -> None:
    """Mark whole invoices in `chosen` whose lines add up as close as can be to the target."""
    order = rng.permutation(sizes.size)
    reach = np.concatenate([[0], np.cumsum(sizes[order])])
    take = int(np.argmin(np.abs(reach - target_lines)))
    chosen[order[:take]] = True


def assign_products(rng, line_invoice: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Draw a product per line, redrawing repeats so a stock code appears once per invoice."""
    n_products = popularity.size
    products = rng.choice(n_products, size=line_invoice.size, p=popularity)
    suspects = np.arange(line_invoice.size)  # lines whose invoice may still hold a repeat
    for attempt in range(200):
        repeated = _repeated_within_invoice(line_invoice[suspects], products[suspects], n_products)
        if repeated.size == 0:
            return products
        repeated = suspects[repeated]
        # After a while, ignore popularity: uniform draws always converge quickly.
        probs = popularity if attempt < 20 else None
        products[repeated] = rng.choice(n_products, size=repeated.size, p=probs)
        touched = np.zeros(line_invoice[-1] + 1, bool)
        touched[line_invoice[repeated]] = True
        suspects = np.flatnonzero(touched[line_invoice])
    raise RuntimeError("could not draw distinct products within invoices")


def _repeated_within_invoice(line_invoice, products, n_products) -> np.ndarray:
    """Positions of the second and later occurrences of a product within an invoice."""
    key = line_invoice * n_products + products
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    return order[np.flatnonzero(sorted_key[1:] == sorted_key[:-1]) + 1]


def add_non_products(
    rng, lines: Lines, invoices: Invoices, catalogue: Catalogue, target_lines: int
) -> None:
    """Turn one line of some invoices into POST, M, D...: at most one per invoice."""
    chosen = rng.choice(
        invoices.size.size, size=min(target_lines, invoices.size.size), replace=False
    )
    first_line = np.concatenate([[0], np.cumsum(invoices.size)[:-1]])
    line = first_line[chosen] + rng.integers(0, invoices.size[chosen])
    lines.product[line] = catalogue.n_regular + rng.integers(len(NON_PRODUCTS), size=line.size)
    lines.quantity[line] = 1


def duplicate_sources(rng, lines: Lines, invoices: Invoices, count: int) -> np.ndarray:
    """Clean, on-time lines to copy (a line may be copied twice only in tiny files)."""
    clean = np.flatnonzero((lines.reject == 0) & ~invoices.is_late[lines.invoice])
    if count and clean.size == 0:
        raise SampleError("rows_per_day too small to hold the duplicated lines")
    return rng.choice(clean, size=count, replace=count > clean.size)


def shuffled_order(rng, n_base: int, sources: np.ndarray) -> np.ndarray:
    """File order of the lines (indices into the base lines, copies repeat their source)."""
    order = rng.permutation(np.concatenate([np.arange(n_base), sources]))
    # Keep a copy away from its original: swap it half a file away (a few passes suffice).
    for _ in range(10):
        adjacent = np.flatnonzero(order[1:] == order[:-1]) + 1
        if adjacent.size == 0:
            break
        for position in adjacent:
            other = (position + order.size // 2) % order.size
            order[position], order[other] = order[other], order[position]
    return order

"""The dirt of the orders files: which invoices and lines get it, how noisy text looks,
and the true per-kind counts the manifest records."""

from __future__ import annotations

import datetime as dt

import numpy as np

from etl_assets.sample.catalogue import Catalogue
from etl_assets.sample.customers import COUNTRIES, COUNTRY_ALIASES, COUNTRY_PROBS
from etl_assets.sample.invoices import Invoices, Lines, pick_invoices
from etl_assets.sample.parameters import (
    ORDER_COUNT_KEYS,
    REJECTING_KINDS,
    count_at_rate,
    reject_code,
)

UNPARSEABLE_QUANTITIES = ("abc", "1.5.2", "12x", "")
LATIN1_MARKS = ("CAF\u00c9", "PI\u00d1ATA", "M\u00dcNCHEN", "\u00a31 OFF", "60\u00b0 WASH")


def add_rejecting_dirt(
    rng,
    lines: Lines,
    invoices: Invoices,
    catalogue: Catalogue,
    n_lines: int,
    rates: dict[str, float],
) -> None:
    """At most one rejecting kind per line, never on a late line."""
    pool = rng.permutation(np.flatnonzero(~invoices.is_late[lines.invoice]))
    for code, kind in enumerate(REJECTING_KINDS, start=1):
        wanted = count_at_rate(n_lines, rates[kind])
        candidates = pool[lines.reject[pool] == 0]
        if kind == "missing_invoice_no":
            # Not on a cancellation (it would stop being one), and distinct stock codes so
            # that two lines without invoice number can never be identical.
            candidates = candidates[~invoices.cancelled[lines.invoice[candidates]]]
            candidates = _first_of_each(candidates, lines.product[candidates], wanted)
        elif kind == "missing_stock_code":
            # Not on a non-product line, and at most one per invoice (same reason).
            candidates = candidates[lines.product[candidates] < catalogue.n_regular]
            candidates = _first_of_each(candidates, lines.invoice[candidates], wanted)
        lines.reject[candidates[:wanted]] = code
        if kind == "latin1" and not _utf8_text_beside(lines, catalogue, code):
            lines.reject[candidates[:wanted]] = 0


def _utf8_text_beside(lines: Lines, catalogue: Catalogue, latin1_code: int) -> bool:
    """Whether a line that is not a latin1 one has a multi-byte (accented) description: a
    file holding no such line and a latin-1 line would be a latin-1 file, read whole, and
    its latin1 lines would not be rejects. Without one, the day gets no latin1 lines."""
    kept = lines.product[lines.reject != latin1_code]
    return any(not text.isascii() for text in catalogue.descriptions[np.unique(kept)])


def _first_of_each(candidates: np.ndarray, groups: np.ndarray, wanted: int) -> np.ndarray:
    """Candidates whose group was not seen earlier in the array (order kept), at least
    `wanted` of them when there are enough groups; scans a prefix first (1M-line files)."""
    for length in (100 + 50 * wanted, candidates.size):
        _, first = np.unique(groups[:length], return_index=True)
        if first.size >= wanted or length >= candidates.size:
            return candidates[np.sort(first)]
    return candidates[:0]


def add_soft_dirt(rng, lines: Lines, n_lines: int, rates: dict[str, float]) -> None:
    """Non-rejecting dirt: may overlap, each kind counted on its own."""
    reject = lines.reject
    negative = reject == reject_code("negative_price")
    damaged_description = (reject == reject_code("latin1")) | (
        reject == reject_code("missing_stock_code")
    )
    for flags, kind, excluded in (
        (lines.zero_price, "zero_price", negative),
        (lines.description_noise, "description_noise", damaged_description),
        (lines.country_noise, "country_noise", np.zeros_like(negative)),
    ):
        eligible = np.flatnonzero(~excluded)
        count = min(count_at_rate(n_lines, rates[kind]), eligible.size)
        flags[rng.choice(eligible, size=count, replace=False)] = True


def noisy_description(rng, text: str) -> str:
    variant = rng.integers(5)
    if variant == 0:
        noisy = f" {text}"
    elif variant == 1:
        noisy = f"{text}  "
    elif variant == 2:
        noisy = text.replace(" ", "  ", 1)
    elif variant == 3:
        noisy = text.lower()
    else:
        noisy = text.title()
    return noisy if noisy != text else f" {text}"  # noise must change the text


def noisy_country(rng, country: str) -> str:
    variant = rng.integers(4)
    if variant == 0:
        noisy = f" {country.lower()}"
    elif variant == 1:
        noisy = f"{country.upper()} "
    elif variant == 2:
        noisy = country.lower()
    else:
        noisy = f"  {country}"
    return noisy if noisy != country else f" {country}"


def unparseable_date(rng, day: dt.date) -> str:
    return (f"31/31/{day.year} 8:00", "not a date", f"{day.year}-13-45", "")[rng.integers(4)]


def count_dirt(
    lines: Lines, invoices: Invoices, catalogue: Catalogue, order: np.ndarray, n_duplicates: int
) -> dict[str, int]:
    """True per-kind line counts of the file whose lines are `order` (copies included)."""
    inv = lines.invoice[order]
    reject = lines.reject[order]
    country = COUNTRIES[invoices.country[inv]]
    counts = {
        "lines": order.size,
        "duplicates": n_duplicates,
        "cancellations": invoices.cancelled[inv].sum(),
        "missing_customer_id": (invoices.customer_id[inv] < 0).sum(),
        "zero_price": lines.zero_price[order].sum(),
        "non_product": (lines.product[order] >= catalogue.n_regular).sum(),
        "description_noise": lines.description_noise[order].sum(),
        "country_noise": lines.country_noise[order].sum(),
        "country_alias": np.isin(country, COUNTRY_ALIASES).sum(),
        "late_rows": invoices.is_late[inv].sum(),
    }
    for code, kind in enumerate(REJECTING_KINDS, start=1):
        counts[kind] = (reject == code).sum()
    counts["rejected"] = (reject > 0).sum()
    return {key: int(counts[key]) for key in ORDER_COUNT_KEYS}


def mark_invoice_dirt(rng, invoices: Invoices, n_lines: int, rates: dict[str, float]) -> None:
    """Cancellations and missing CustomerIDs hit whole invoices, as in the original data."""
    pick_invoices(
        rng, invoices.size, invoices.cancelled, count_at_rate(n_lines, rates["cancellations"])
    )
    anonymous = np.zeros(invoices.size.size, bool)
    pick_invoices(
        rng, invoices.size, anonymous, count_at_rate(n_lines, rates["missing_customer_id"])
    )
    invoices.customer_id[anonymous] = -1
    # Anonymous invoices still ship somewhere.
    invoices.country[anonymous] = rng.choice(
        COUNTRIES.size, size=int(anonymous.sum()), p=COUNTRY_PROBS
    )

"""The customer population: countries, PII emails (with noise), sign-up days, the few
who change country or email each day, and who can buy on a day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl_assets.sample.parameters import count_at_rate, random_stream

CUSTOMER_CHANGE_RATE = 0.005  # share of existing customers changing country or email a day
EMAIL_NOISE_RATE = 0.03  # share of stored emails with case / whitespace noise
CUSTOMERS_FROM_DAY_ONE = 0.8  # the rest sign up over the first SIGNUP_HORIZON_DAYS days
SIGNUP_HORIZON_DAYS = 30  # fixed, not `days`, so that a longer run extends a shorter one
FIRST_CUSTOMER_ID = 12346
COUNTRY_ALIASES = ("EIRE", "RSA", "USA", "Unspecified")
# Country list of the original data set with a rough share of customers.
COUNTRY_WEIGHTS: dict[str, float] = {
    "United Kingdom": 0.85,
    "Germany": 0.022,
    "France": 0.02,
    "EIRE": 0.018,
    "Spain": 0.007,
    "Netherlands": 0.007,
    "Belgium": 0.006,
    "Switzerland": 0.006,
    "Portugal": 0.005,
    "Australia": 0.004,
    "Norway": 0.004,
    "Italy": 0.004,
    "Channel Islands": 0.003,
    "Finland": 0.003,
    "Cyprus": 0.002,
    "Sweden": 0.002,
    "Unspecified": 0.002,
    "Austria": 0.002,
    "Denmark": 0.002,
    "Japan": 0.002,
    "Poland": 0.002,
    "Israel": 0.001,
    "USA": 0.001,
    "Hong Kong": 0.001,
    "Singapore": 0.001,
    "Iceland": 0.001,
    "Canada": 0.001,
    "Greece": 0.001,
    "Malta": 0.001,
    "RSA": 0.001,
    "Lithuania": 0.001,
    "Bahrain": 0.001,
    "Lebanon": 0.001,
    "United Arab Emirates": 0.001,
    "Saudi Arabia": 0.001,
    "Czech Republic": 0.001,
    "Brazil": 0.001,
    "European Community": 0.001,
}
COUNTRIES = np.array(list(COUNTRY_WEIGHTS), dtype=object)
COUNTRY_PROBS = np.array(list(COUNTRY_WEIGHTS.values())) / sum(COUNTRY_WEIGHTS.values())
FIRST_NAMES = (
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "susan",
    "richard",
    "jessica",
    "joseph",
    "sarah",
    "thomas",
    "karen",
    "charles",
    "nancy",
    "oliver",
    "amelia",
    "harry",
    "isla",
    "jack",
    "emily",
    "george",
    "ava",
    "noah",
    "sophie",
    "pierre",
    "claire",
    "hans",
    "anna",
    "sean",
    "aoife",
    "lars",
    "ingrid",
)
LAST_NAMES = (
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "robinson",
    "wright",
    "thompson",
    "evans",
    "walker",
    "white",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "martin",
    "bernard",
    "dubois",
    "muller",
    "schmidt",
    "murphy",
    "kelly",
    "garcia",
    "silva",
    "jansen",
    "peeters",
    "rossi",
    "hansen",
    "nielsen",
    "novak",
)
EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net"], dtype=object)
EMAIL_DOMAIN_PROBS = np.array([0.8, 0.1, 0.1])


@dataclass
class Customers:
    """The whole population; `emails` and `country` hold the current day's values."""

    ids: np.ndarray  # int64, ascending; ids are handed out in signup order
    signup_day: np.ndarray  # int64, day index the customer appears in the snapshots
    activity: np.ndarray  # float64, relative buying frequency
    handles: np.ndarray  # object: "first.last"
    emails: np.ndarray  # object: stored email, noise included
    country: np.ndarray  # int64 index into COUNTRIES


def build_customers(seed: int, n_customers: int) -> Customers:
    rng = random_stream(seed, "customers")
    from_day_one = max(1, count_at_rate(n_customers, CUSTOMERS_FROM_DAY_ONE))
    later = np.sort(rng.integers(1, SIGNUP_HORIZON_DAYS, size=n_customers - from_day_one))
    first = rng.integers(len(FIRST_NAMES), size=n_customers)
    last = rng.integers(len(LAST_NAMES), size=n_customers)
    handles = np.array(
        [f"{FIRST_NAMES[f]}.{LAST_NAMES[s]}" for f, s in zip(first, last, strict=True)],
        dtype=object,
    )
    emails = np.array([_new_email(rng, h) for h in handles], dtype=object)
    return Customers(
        ids=FIRST_CUSTOMER_ID + np.arange(n_customers, dtype=np.int64),
        signup_day=np.concatenate([np.zeros(from_day_one, np.int64), later]),
        activity=rng.lognormal(0.0, 1.0, size=n_customers),
        handles=handles,
        emails=emails,
        country=rng.choice(COUNTRIES.size, size=n_customers, p=COUNTRY_PROBS),
    )


def _new_email(rng: np.random.Generator, handle: str) -> str:
    domain = EMAIL_DOMAINS[rng.choice(EMAIL_DOMAINS.size, p=EMAIL_DOMAIN_PROBS)]
    email = f"{handle}{rng.integers(1, 1000)}@{domain}"
    if rng.random() < EMAIL_NOISE_RATE:
        email = _noisy_email(rng, email)
    return email


def _noisy_email(rng: np.random.Generator, email: str) -> str:
    variant = rng.integers(4)
    if variant == 0:
        return email.upper()
    if variant == 1:
        return email.title()
    if variant == 2:
        return f" {email}"
    return f"{email}  "


def _normalised_email(email: str) -> str:
    return email.strip().lower()


def apply_customer_changes(customers: Customers, rng: np.random.Generator, day: int) -> int:
    """Change the country or the email of ~0.5 % of yesterday's customers; return how many."""
    existing = np.flatnonzero(customers.signup_day <= day - 1)
    chosen = rng.choice(
        existing, size=count_at_rate(existing.size, CUSTOMER_CHANGE_RATE), replace=False
    )
    for index in np.sort(chosen):
        if rng.random() < 0.5:
            # A different country: shift by a non-zero offset in the list.
            offset = rng.integers(1, COUNTRIES.size)
            customers.country[index] = (customers.country[index] + offset) % COUNTRIES.size
        else:
            old = _normalised_email(customers.emails[index])
            email = _new_email(rng, customers.handles[index])
            while _normalised_email(email) == old:  # a real change, even once normalised
                email = _new_email(rng, customers.handles[index])
            customers.emails[index] = email
    return int(chosen.size)


def customers_columns(customers: Customers, day: int) -> list[list[str]]:
    existing = customers.signup_day <= day
    return [
        customers.ids[existing].astype(str).tolist(),
        customers.emails[existing].tolist(),
        COUNTRIES[customers.country[existing]].tolist(),
    ]


@dataclass(frozen=True)
class Buyers:
    """Customers who exist on one day, with that day's country."""

    ids: np.ndarray
    country: np.ndarray
    probs: np.ndarray


def buyers_on(customers: Customers, day: int) -> Buyers:
    existing = np.flatnonzero(customers.signup_day <= day)
    weights = customers.activity[existing]
    return Buyers(
        ids=customers.ids[existing],
        country=customers.country[existing].copy(),
        probs=weights / weights.sum(),
    )

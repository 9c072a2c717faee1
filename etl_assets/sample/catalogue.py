"""The product catalogue: names like "JUMBO RED RETROSPOT LUNCH BAG", stock codes, list
prices, the non-product codes, and how popular each product is."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from etl_assets.sample.csv_text import format_pence
from etl_assets.sample.parameters import random_stream

# (StockCode, Description, list price in pence) of the lines that are not goods.
NON_PRODUCTS = (
    ("POST", "POSTAGE", 1800),
    ("M", "Manual", 250),
    ("D", "Discount", 500),
    ("BANK CHARGES", "Bank Charges", 1500),
    ("AMAZONFEE", "AMAZON FEE", 1350),
)
NON_PRODUCT_CATEGORY = "Non-product"
# Product names are "<size><colour> <motif> <item>", like "JUMBO RED RETROSPOT LUNCH BAG".
# A few words carry accents or a pound sign (written as UTF-8), as real shop exports do.
NAME_SIZES = ("", "SMALL ", "LARGE ", "JUMBO ", "MINI ", "SET OF 3 ", "SET OF 6 ", "PACK OF 12 ")
NAME_COLOURS = (
    "WHITE",
    "RED",
    "PINK",
    "BLUE",
    "GREEN",
    "IVORY",
    "BLACK",
    "CREAM",
    "PAPER",
    "GLASS",
    "VINTAGE",
    "RETRO",
    "ANTIQUE SILVER",
    "CRÈME",
    "WOODEN",
    "ENAMEL",
)
NAME_MOTIFS = (
    "HANGING HEART",
    "RETROSPOT",
    "POLKADOT",
    "SPACEBOY",
    "REGENCY",
    "DOLLY GIRL",
    "WOODLAND",
    "SKULL",
    "STRAWBERRY",
    "BIRD",
    "LOVE",
    "CHRISTMAS",
    "CAFÉ DE PARIS",
    "CÔTE D'AZUR",
    "ROSE",
    "SNOWFLAKE",
    "VICTORIAN",
    "ALPHABET",
    "CIRCUS PARADE",
    "LONDON",
)
NAME_ITEMS = {  # item -> category
    "T-LIGHT HOLDER": "Lighting",
    "LANTERN": "Lighting",
    "NIGHT LIGHT": "Lighting",
    "CAKESTAND 3 TIER": "Kitchen",
    "TEA CUP AND SAUCER": "Kitchen",
    "MUG": "Kitchen",
    "BAKING SET": "Kitchen",
    "LUNCH BOX": "Kitchen",
    "CAKE TINS": "Kitchen",
    "SHOPPER BAG": "Bags",
    "LUNCH BAG": "Bags",
    "CHARLOTTE BAG": "Bags",
    "TOTE BAG": "Bags",
    "NOTEBOOK": "Stationery",
    "WRAPPING PAPER": "Stationery",
    "GREETING CARD": "Stationery",
    "PENCILS": "Stationery",
    "STICKER SHEET": "Stationery",
    "BUNTING": "Party",
    "PAPER CHAIN KIT": "Party",
    "PARTY NAPKINS": "Party",
    "BALLOONS": "Party",
    "DOORMAT": "Home Decor",
    "CUSHION COVER": "Home Decor",
    "PHOTO FRAME": "Home Decor",
    "WALL CLOCK": "Home Decor",
    "METAL SIGN": "Home Decor",
    "COAT RACK": "Home Decor",
    "CANDLE": "Home Decor",
    "ALARM CLOCK": "Home Decor",
    "HOT WATER BOTTLE": "Gifts",
    "HAND WARMER": "Gifts",
    "KEY RING": "Gifts",
    "TRINKET BOX": "Gifts",
    "PLAYHOUSE": "Toys",
    "SPINNING TOP": "Toys",
    "JIGSAW": "Toys",
    "SKITTLES": "Toys",
    "PLANT POT": "Garden",
    "WATERING CAN": "Garden",
    "BIRD HOUSE": "Garden",
    "TREE ORNAMENT": "Christmas",
    "ADVENT CALENDAR": "Christmas",
}
# A few names carry a comma, so that the CSV quoting is exercised.
NAME_COMMA_SUFFIXES = (", ASSORTED", ", ASSORTED COLOURS", ", GIFT BOXED £1")
NAME_COMMA_SHARE = 0.04
PRICE_POINTS_PENCE = np.array(
    [
        29,
        39,
        42,
        55,
        65,
        79,
        85,
        125,
        145,
        165,
        195,
        210,
        255,
        295,
        375,
        425,
        495,
        595,
        795,
        850,
        995,
        1275,
        1495,
        1695,
        2495,
        3995,
    ]
)


@dataclass(frozen=True)
class Catalogue:
    codes: np.ndarray  # object: StockCode; regular products first, then NON_PRODUCTS
    descriptions: np.ndarray  # object
    categories: np.ndarray  # object
    price_pence: np.ndarray  # int64
    popularity: np.ndarray  # float64 probabilities over the regular products
    n_regular: int


def build_catalogue(seed: int, n_products: int) -> Catalogue:
    rng = random_stream(seed, "products")
    items = list(NAME_ITEMS)
    shape = (len(NAME_SIZES), len(NAME_COLOURS), len(NAME_MOTIFS), len(items))
    picks = rng.choice(math.prod(shape), size=n_products, replace=False)
    size, colour, motif, item = np.unravel_index(picks, shape)
    with_comma = rng.random(n_products) < NAME_COMMA_SHARE
    comma_suffix = rng.integers(len(NAME_COMMA_SUFFIXES), size=n_products)
    descriptions = [
        f"{NAME_SIZES[s]}{NAME_COLOURS[c]} {NAME_MOTIFS[m]} {items[i]}"
        + (NAME_COMMA_SUFFIXES[x] if comma else "")
        for s, c, m, i, comma, x in zip(
            size, colour, motif, item, with_comma, comma_suffix, strict=True
        )
    ]
    categories = [NAME_ITEMS[items[i]] for i in item]

    # Codes like 22752 or 85123A: distinct five-digit numbers, some with a variant letter.
    numbers = rng.choice(np.arange(10002, 90000), size=n_products, replace=False)
    letters = rng.choice(list("ABCDEFGHJKLMN"), size=n_products)
    has_letter = rng.random(n_products) < 0.15
    codes = [
        f"{number}{letter}" if with_letter else str(number)
        for number, letter, with_letter in zip(numbers, letters, has_letter, strict=True)
    ]
    prices = rng.choice(PRICE_POINTS_PENCE, size=n_products)

    # A few best sellers and a long tail, like a real shop.
    ranks = rng.permutation(n_products) + 1
    weights = 1.0 / ranks**0.9
    return Catalogue(
        codes=np.array(codes + [c for c, _, _ in NON_PRODUCTS], dtype=object),
        descriptions=np.array(descriptions + [d for _, d, _ in NON_PRODUCTS], dtype=object),
        categories=np.array(categories + [NON_PRODUCT_CATEGORY] * len(NON_PRODUCTS), dtype=object),
        price_pence=np.concatenate([prices, [p for _, _, p in NON_PRODUCTS]]).astype(np.int64),
        popularity=weights / weights.sum(),
        n_regular=n_products,
    )


def products_columns(catalogue: Catalogue) -> list[list[str]]:
    order = np.argsort(catalogue.codes[: catalogue.n_regular].astype(str), kind="stable")
    order = np.concatenate([order, np.arange(catalogue.n_regular, catalogue.codes.size)])
    columns = (
        catalogue.codes,
        catalogue.descriptions,
        catalogue.categories,
        format_pence(catalogue.price_pence),
    )
    return [column[order].tolist() for column in columns]

"""Gold marts: pure pandas aggregations of silver orders (and products), one module per
subject: `sales`, `customers` (RFM, cohorts), `products`; `shared` holds what they all use.

No dagster import here: the gold assets load silver, call one of these functions and
attach metadata; etl_assets/marts/ registers each function with its name, partitioning and
suite. Conventions shared by every mart:

- Only product lines count (``is_non_product == False``). Silver never leaves the two
  flags null; if one is null anyway it counts as False (a product line, not cancelled).
- A null ``country`` is grouped as ``"Unknown"`` so that no line silently disappears.
- Money is rounded to 2 decimals and rates to 4, once, at the very end; ranks and
  scores are computed on the rounded figures, so a reader can recompute them from
  the output alone.
- Every function returns a new frame with the columns and dtypes of its module's
  ``<MART>_COLUMNS`` in that order, sorted by ``<MART>_KEYS``, with a fresh RangeIndex; the
  input is never modified. An empty input gives an empty, typed output.
- Everything is vectorised (groupby/agg); there is no Python loop over rows.
"""

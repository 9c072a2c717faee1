"""Quality: typed asset boundaries and asset checks, in three layers.

- `suites/`: what is expected (declarations, no great_expectations, no dagster);
- `engine/`: how great_expectations evaluates it, imported lazily (it takes seconds);
- `checks/`: how the verdicts reach Dagster (check factories, per-partition results).

A layer imports only from the ones above it in this list.
"""

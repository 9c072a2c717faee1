"""Dagster check emission: the check factories, per-partition results, what an operator
reads, row accounting, schema drift, freshness and the typed frame boundaries."""

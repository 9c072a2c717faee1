"""Expectation suites as declarations: the sources', the gold marts', and gold reconciled
with silver. Nothing here imports great_expectations or dagster."""

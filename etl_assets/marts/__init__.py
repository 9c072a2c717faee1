"""Gold marts as data: the model of a mart (spec.py) and each domain's registry (retail.py).

Level 1, beside transforms: no dagster import. The gold assets, the warehouse publishing and
the quality checks read the registries and name no mart themselves.
"""

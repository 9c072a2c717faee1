"""The marts' registry: each declaration agrees with what its function computes, and a
declaration that cannot be right is refused when the code location loads."""

from __future__ import annotations

import pandas as pd
import pytest

from etl_assets.marts.retail import RETAIL_MARTS, retail_marts
from etl_assets.marts.spec import (
    DAILY,
    WHOLE_HISTORY,
    DailyAggregate,
    Fold,
    MartInput,
    MartSpec,
    aggregates_of,
)
from etl_assets_tests.transforms.gold.test_gold import make_orders, make_products

FRAMES = {"orders": make_orders(), "products": make_products()}


def _read(read: MartInput | DailyAggregate) -> pd.DataFrame:
    """What the mart's step gives `compute` for one of its reads."""
    if isinstance(read, DailyAggregate):
        return read.compute(_read(read.input))
    return FRAMES[read.source][list(read.columns)] if read.columns else FRAMES[read.source]


@pytest.mark.parametrize("aggregate", aggregates_of(RETAIL_MARTS), ids=lambda a: a.name)
def test_each_aggregate_computes_its_declared_shape(aggregate: DailyAggregate):
    result = _read(aggregate)
    declared = {c: pd.api.types.pandas_dtype(t) for c, t in aggregate.columns.items()}
    assert result.dtypes.to_dict() == declared  # string[pyarrow] prints as "string"
    assert len(result) and not result.duplicated(list(aggregate.keys)).any()


@pytest.mark.parametrize("mart", RETAIL_MARTS, ids=lambda m: m.name)
def test_each_mart_computes_its_declared_shape_from_its_declared_columns(mart: MartSpec):
    result = mart.compute(*(_read(r) for r in mart.reads()))
    assert {c: str(t) for c, t in result.dtypes.items()} == dict(mart.columns)
    assert not result.duplicated(list(mart.keys)).any()
    assert set(mart.lineage) == set(mart.columns)
    assert {c for rule in mart.suite for c in rule.columns} <= set(mart.columns)


def test_the_retail_marts_exist_only_with_both_their_sources():
    assert {m.name for m in RETAIL_MARTS} == {
        "daily_sales",
        "customer_rfm",
        "product_performance",
        "cohort_retention",
    }
    assert retail_marts({"orders": 1, "products": 2, "customers": 3}) == RETAIL_MARTS
    assert retail_marts({"orders": 1}) == ()
    assert [m.name for m in RETAIL_MARTS if m.partitioning == DAILY] == ["daily_sales"]


def _AGGREGATE_OF(source: str) -> DailyAggregate:  # noqa: N802
    return DailyAggregate(
        name=f"{source}_daily",
        description="",
        input=MartInput(source),
        columns={"order_date": "datetime64[ns]"},
        keys=("order_date",),
        compute=lambda frame: frame,
    )


_FOLD = Fold(partial=lambda days: days, merge=pd.concat, finish=lambda partial: partial)


def _declare(**changes) -> MartSpec:
    fields = {
        "name": "totals",
        "description": "",
        "partitioning": WHOLE_HISTORY,
        "keys": ("day",),
        "columns": {"day": "datetime64[ns]", "total": "Float64"},
        "inputs": (MartInput("orders"),),
        "compute": lambda orders: pd.DataFrame(),
    }
    return MartSpec(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"keys": ("month",)}, "keys name columns"),
        ({"partitioning": "weekly"}, "partitioning 'weekly'"),
        ({"partitioning": DAILY}, "names its partition_column"),
        ({"partition_column": "day"}, "names its partition_column"),
        ({"inputs": ()}, "inputs must name"),
        ({"inputs": (MartInput("orders"), MartInput("orders"))}, "inputs must name"),
        ({"lineage": {"price": (("orders", "price"),)}}, "lineage name columns"),
        ({"column_descriptions": {"price": "a price"}}, "column_descriptions name columns"),
        ({"column_descriptions": {"total": " "}}, "must be non-empty strings: \\['total'\\]"),
        ({"column_descriptions": {"total": 3}}, "must be non-empty strings: \\['total'\\]"),
        ({"aggregates": (_AGGREGATE_OF("products"),)}, "reduce a different input"),
        ({"aggregates": (_AGGREGATE_OF("orders"),) * 2}, "reduce a different input"),
        ({"aggregates": (_AGGREGATE_OF("orders"),)}, "declares a fold .* exactly when it does"),
        ({"fold": _FOLD}, "declares a fold .* exactly when it does"),
        (
            {
                "aggregates": (_AGGREGATE_OF("orders"),),
                "partitioning": DAILY,
                "partition_column": "day",
            },
            "only a whole-history mart",
        ),
    ],
)
def test_a_wrong_declaration_is_refused(changes, message):
    _declare()  # the base declaration is valid
    with pytest.raises(ValueError, match=message):
        _declare(**changes)


@pytest.mark.parametrize("mart", RETAIL_MARTS, ids=lambda m: m.name)
def test_every_retail_mart_column_is_described(mart: MartSpec):
    undescribed = [c for c in mart.columns if not mart.column_descriptions.get(c, "").strip()]
    assert undescribed == [], f"gold/{mart.name}: describe {undescribed} in marts/retail.py"


def test_column_descriptions_are_documentation_not_identity():
    plain = _declare()
    described = _declare(
        compute=plain.compute, column_descriptions={"day": "The day.", "total": "The total."}
    )
    assert described == plain  # they decide no row: a spec is the same without them

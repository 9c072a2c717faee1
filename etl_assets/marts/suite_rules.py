"""Short-hands to declare a mart's expectations: keys unique and complete, values in range.

Each `Expectation` they build names its origin (where it is declared), which the checks show
beside every rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from etl_assets.sources.expectation_spec import ERROR, Expectation


@dataclass(frozen=True)
class SuiteRules:
    """The expectations of the marts declared in one place (`origin`)."""

    origin: str

    def rule(
        self, name: str, type_: str, severity: str = ERROR, mostly: float = 1.0, **arguments
    ) -> Expectation:
        return Expectation(name, type_, arguments, severity, mostly, origin=self.origin)

    def at_least(
        self, column: str, minimum: float, severity: str = ERROR, mostly: float = 1.0
    ) -> Expectation:
        return self.rule(
            f"{column}_at_least_{minimum:g}".replace(".", "_").replace("-", "minus_"),
            "expect_column_values_to_be_between",
            severity,
            mostly,
            column=column,
            min_value=minimum,
        )

    def between(
        self, column: str, low: float, high: float, severity: str = ERROR, mostly: float = 1.0
    ) -> Expectation:
        return self.rule(
            f"{column}_in_range",
            "expect_column_values_to_be_between",
            severity,
            mostly,
            column=column,
            min_value=low,
            max_value=high,
        )

    def key_unique(self, keys: Sequence[str]) -> Expectation:
        if len(keys) == 1:
            return self.rule("key_unique", "expect_column_values_to_be_unique", column=keys[0])
        return self.rule(
            "key_unique", "expect_compound_columns_to_be_unique", column_list=list(keys)
        )

    def key_rules(self, keys: Sequence[str]) -> list[Expectation]:
        """Whole-history marts: one evaluation per run, so every key column is checked too."""
        not_null = [
            self.rule(f"{column}_not_null", "expect_column_values_to_not_be_null", column=column)
            for column in keys
        ]
        return [*not_null, self.key_unique(keys)]

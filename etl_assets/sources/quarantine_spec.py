"""The `quarantine:` block of a declaration: how much of a partition may be rejected.

```yaml
quarantine:
  max_rate: 0.05     # share of a partition's rows it may quarantine (default 5 %)
```

Above it the `reject_rate` check of silver fails for that partition (error, blocking): its
gold is not built in the run, as dbt's `error_if` or Databricks' `expect_or_fail` would.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_REJECT_RATE = 0.05


def read_quarantine(reader, raw: Any) -> float:
    """The declared `quarantine.max_rate` (0..1), or the default."""
    if raw is None:
        return DEFAULT_MAX_REJECT_RATE
    raw = reader.mapping(raw, "quarantine")
    reader.keys(raw, "quarantine.", set(), {"max_rate"})
    rate = raw.get("max_rate", DEFAULT_MAX_REJECT_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise reader.fail(
            "quarantine.max_rate",
            f"{rate!r} is not a share of rows: write a number from 0 to 1 (0.05 = 5 %)",
        )
    return float(rate)

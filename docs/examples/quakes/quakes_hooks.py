"""Silver hook of the quakes example: a rule that needs two columns, so YAML cannot say it."""

import pandas as pd


def updated_before_event(quakes: pd.DataFrame) -> pd.Series:
    """One reject reason per row, or null to keep it: an event cannot be updated before it
    happened."""
    impossible = (quakes["updated_at"] < quakes["event_time"]).fillna(False)
    reasons = pd.Series(pd.NA, index=quakes.index, dtype="string")
    return reasons.mask(impossible, "updated_before_event")

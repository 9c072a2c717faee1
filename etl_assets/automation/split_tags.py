"""The run tags of a range split (range_split.py, range_follow_up.py), without dagster: the
`etl-assets backfill` command reads them from the webserver."""

SPLIT_OF_TAG = "etl/split_of"  # on a follow-up run: the run whose good days it completes
SPLIT_TAG = "etl/split"  # on a failed range run: what the sensor decided
FAILED_DAYS_TAG = "etl/failed_days"  # on a failed range run: one line per failed day and cause
FOLLOW_UPS_TAG = "etl/follow_ups"  # on a failed range run: how many follow-up runs it has

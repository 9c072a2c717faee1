"""Names the pipeline writes itself: bronze's lineage columns, the quarantine's reject
columns, and the reject reasons the silver transform gives on its own.

They sit at the bottom (beside the declarations) because declarations, transforms and
quality checks all read them: a declared column, `as` name or rule must not take one of
them, bronze writes the lineage, silver and its quarantine keep it, checks expect it.
"""

SOURCE_FILE = "_source_file"
BATCH_ID = "_batch_id"
INGESTED_AT = "_ingested_at"
ROW_NUMBER = "_row_number"
LANDING_DATE = "_landing_date"
READ_ERROR = "_read_error"

# Bronze's lineage, after the declared columns, in this order.
LINEAGE_COLUMNS = (SOURCE_FILE, BATCH_ID, INGESTED_AT, ROW_NUMBER, LANDING_DATE, READ_ERROR)
# The lineage silver keeps on every row (its quarantine also keeps READ_ERROR).
SILVER_LINEAGE_COLUMNS = (SOURCE_FILE, BATCH_ID, ROW_NUMBER, LANDING_DATE)

REJECT_REASON_COLUMN = "_reject_reason"
REJECT_DETAIL_COLUMN = "_reject_detail"

# A landing column or declared column by one of these names would be overwritten.
RESERVED_COLUMNS = (*LINEAGE_COLUMNS, REJECT_REASON_COLUMN, REJECT_DETAIL_COLUMN)

# The reject reasons of the silver transform itself; a declared rule or hook must not reuse
# them. Two read errors, three per-column prefixes (+ the column), two more.
INVALID_ENCODING = "invalid_encoding"
MALFORMED_LINE = "malformed_line"
READ_ERROR_REASONS = (INVALID_ENCODING, MALFORMED_LINE)
MISSING, UNPARSEABLE, BELOW_MINIMUM = "missing_", "unparseable_", "below_minimum_"
REJECT_REASON_PREFIXES = (MISSING, UNPARSEABLE, BELOW_MINIMUM)
DATE_OUTSIDE_LATE_WINDOW = "date_outside_late_window"
CONFLICTING_DUPLICATE_KEY = "conflicting_duplicate_key"
BUILT_IN_REASONS = (*READ_ERROR_REASONS, DATE_OUTSIDE_LATE_WINDOW, CONFLICTING_DUPLICATE_KEY)

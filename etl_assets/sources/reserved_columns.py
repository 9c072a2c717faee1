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

# What each reserved column holds, for the column schema of bronze, silver and quarantine.
RESERVED_COLUMN_DESCRIPTIONS = {
    SOURCE_FILE: "Where the row was read from: the landing path relative to the landing "
    "directory (an HTTP source: the URL without credentials; Postgres: the table).",
    BATCH_ID: "The batch that ingested the row: source:file:first 16 hex digits of the "
    "file's SHA-256, so the same bytes read again get the same batch id.",
    INGESTED_AT: "When bronze read the row (UTC); the same for every row of a run.",
    ROW_NUMBER: "1-based number of the row in its file, every page of an API or the whole "
    "extract log (CSV: data line, the header is line 0); with _source_file it names one "
    "bronze row.",
    LANDING_DATE: "The partition day of the landing file the row came in (midnight); null "
    "for an unpartitioned source.",
    READ_ERROR: "Null for a cleanly read line; invalid_encoding (not valid in the file's "
    "encoding, decoded as latin-1) or malformed_line (wrong number of fields).",
    REJECT_REASON_COLUMN: "Why the row was quarantined: the first failing rule, "
    "e.g. missing_<column>, unparseable_<column>, below_minimum_<column>, "
    "conflicting_duplicate_key or a declared rule's name.",
    REJECT_DETAIL_COLUMN: "The column and offending value behind the reason, in words "
    "(e.g. depth='deep' is not a number).",
}

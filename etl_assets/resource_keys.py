"""The keys resources are registered under, in one place at the bottom of the package.

`resources.build_resources` registers a resource under each key; assets, checks and sensors
name the key they need (an asset parameter named like the key, `io_manager_key`,
`required_resource_keys`). The string values are part of the code location's contract:
run configuration and the UI show them.
"""

# IO managers of the Parquet lake: whole frames, and partitioned inputs as LakePartitions.
LAKE_IO_MANAGER = "lake_io_manager"
LAKE_DAY_BY_DAY = "lake_day_by_day"

# Connectors, one per declared `connector:` kind.
LANDING = "landing"  # LandingFiles: files dropped in the landing directory
HTTP = "http"  # HttpJsonApi: paged JSON APIs
POSTGRES_SOURCE = "postgres_source"  # PostgresSource: operational tables read by watermark
# The resource each declared connector reads through.
CONNECTOR_RESOURCES = {"files": LANDING, "http": HTTP, "postgres": POSTGRES_SOURCE}

PII = "pii"  # PiiKey: the key of the keyed hash of PII columns
ALERTS = "alerts"  # Alerts: where run-failure alerts go
QUALITY_RESOURCE = "quality"  # QualityChecks: Data Docs and the great_expectations warm-up

# Prod profile only: the Postgres warehouse and the IO manager that publishes to it.
WAREHOUSE_RESOURCE = "warehouse"
WAREHOUSE_IO_MANAGER = "warehouse_io_manager"

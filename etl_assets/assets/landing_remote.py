"""What `landing/<source>` observes of a source read through a connector, not from files.

- HTTP (`connector: http`): the SHA-256 of the first page, one GET through the source's
  `HttpJsonApi` (same retries, breaker and size limits as bronze's read). A daily source
  (`{date}` in its URL) is observed for its latest `HTTP_DAYS_OBSERVED` days only: one
  request per day observed, not one per day since the partitions start. The first page is
  what every change to a paged API moves in practice (a new record, an edit of a recent one,
  a new total); a change confined to a later page shows at the next materialization only.
  HEAD and ETag are not used: the APIs this reads do not promise them for JSON pages.
- Postgres (`connector: postgres`): the table's greatest watermark and row count, one
  aggregate query through the source's `PostgresSource`; a new or updated row moves the
  watermark (that is what bronze extracts by), a deleted row the count.

The data version is the SHA-256 of what was compared; the values themselves are metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from etl_assets.assets.bronze_reading import declared_env
from etl_assets.sources import SourceSpec

HTTP_DAYS_OBSERVED = 7


def source_url(spec: SourceSpec, day: str | None) -> str:
    """The URL bronze reads for `day` (YYYY-MM-DD; None for an undated source)."""
    url = spec.http.url
    return url if day is None else url.replace("{date}", day)


def api_token(spec: SourceSpec) -> str | None:
    """The bearer token the declaration names (`http.token_env`), if any."""
    if not spec.http.token_env:
        return None
    return declared_env(spec.file, "http.token_env", spec.http.token_env, "the API token")


def remote_versions(
    spec: SourceSpec, connection, partition_keys: Sequence[str] | None, log=None
) -> dict[str | None, tuple[str, dict]]:
    """partition -> (data version, metadata) of what the connector would read now."""
    if spec.connector == "http":
        days = list(partition_keys)[-HTTP_DAYS_OBSERVED:] if partition_keys is not None else [None]
        token = api_token(spec)
        found = {}
        for day in days:
            page = connection.first_page(spec.http, source_url(spec, day), token=token, log=log)
            found[day] = (page.sha256, {"url": page.url, "first_page_bytes": page.size_bytes})
        return found
    if spec.connector == "postgres":
        url = declared_env(
            spec.file, "postgres.url_env", spec.postgres.url_env, "the source database's DSN"
        )
        probe = connection.probe(spec.postgres, url)
        compared = f"{probe.watermark}\x1f{probe.rows}"
        version = hashlib.sha256(compared.encode()).hexdigest()
        metadata = {
            "source_table": probe.label,
            "max_watermark": probe.watermark or "",
            "row_count": probe.rows,
        }
        return {None: (version, metadata)}
    raise ValueError(f"{spec.file}: no remote observation for connector {spec.connector!r}")

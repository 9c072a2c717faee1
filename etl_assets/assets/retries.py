"""Retry policies for the steps whose failures can be transient.

Bronze reads landing storage (a local disk, or object storage that times out now and then);
gold publishes to the lake and, in prod, the warehouse (a database that restarts). Both
retry with exponential backoff and jitter, so parallel runs that failed together do not
retry together. Silver is pure computation over the lake: a failure there is the data's
or the code's, and a retry would fail the same way.

Failures that a retry cannot fix (a missing or malformed landing file, an unknown column)
are raised as `dagster.Failure(allow_retries=False)` and fail at once.
"""

from __future__ import annotations

import dagster as dg

# Waits (2**n - 1) * delay, +/- delay: ~5 s, ~15 s, ~35 s; a storage hiccup is over by then.
LANDING_READ_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# ~10 s, ~30 s, ~70 s: room for a database failover or restart.
PUBLISH_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

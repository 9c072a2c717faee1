"""The PII key as a resource: the secret of the keyed hash that replaces PII columns."""

from __future__ import annotations

import dagster as dg

from etl_assets.settings import PII_KEY_VARIABLE


class PiiKey(dg.ConfigurableResource):
    """The key of the keyed hash (HMAC-SHA256) that replaces PII columns in silver."""

    key: str
    from_environment: bool = True

    def key_bytes(self, log) -> bytes:
        if not self.from_environment:
            log.warning(
                f"!!! {PII_KEY_VARIABLE} is not set: PII is hashed with the PUBLIC development "
                f"key. Hashes are reversible by anyone with the code. Set {PII_KEY_VARIABLE} "
                "to a secret before using real data. !!!"
            )
        return self.key.encode("utf-8")

"""Run as a script: `etl-assets run`, killed by SIGKILL at a chosen moment of one asset's
write. argv[1] is the asset (e.g. bronze/orders, or warehouse/daily_sales), argv[2] the
moment, the rest goes to `etl-assets run`:

- `staging`: the asset's first lake file is staged, nothing renamed yet;
- `renames`: the asset's commit journal and first file are renamed into place;
- `publish`: the rows of the asset's warehouse table are deleted and copied again, in the
  open transaction, not committed.
"""

import os
import signal
import sys

from etl_assets.cli import main
from etl_assets.io.lake import commit_log, writing
from etl_assets.io.warehouse import swap


def die_when(module, name: str, hit) -> None:
    """Replace module.name by a wrapper that calls it, then dies when hit(*args) holds."""
    original = getattr(module, name)

    def dying(*args, **kwargs):
        result = original(*args, **kwargs)
        if hit(*args):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(module, name, dying)


def lake_file_of(asset: str):
    folder = os.sep + asset.replace("/", os.sep)
    return lambda path: folder + os.sep in str(path) or str(path).endswith(folder + ".parquet")


if __name__ == "__main__":
    asset, moment, *rest = sys.argv[1:]
    in_asset = lake_file_of(asset)
    if moment == "staging":
        die_when(writing, "stage", lambda table, target: in_asset(target))
    elif moment == "renames":
        die_when(
            commit_log.os,
            "replace",
            lambda source, target: in_asset(target) and str(target).endswith(".parquet"),
        )
    elif moment == "publish":
        table = '."' + asset.split("/")[-1] + '"'
        die_when(
            swap, "copy_into", lambda cursor, target, *_: target.as_string(cursor).endswith(table)
        )
    else:
        raise SystemExit(f"unknown moment {moment!r}")
    sys.exit(main(["run", "--log-level", "ERROR", *rest]))

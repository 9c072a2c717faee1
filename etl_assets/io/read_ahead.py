"""Read-ahead over the partitions of a lake input (`LakePartitions`): a partition read once is
kept until released, and the next one wanted is read in a background thread (Parquet
decoding releases the GIL) while the caller works on the current one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd

from etl_assets.io.daily_frames import LakePartitions


class ReadAhead:
    """One partition at a time, read by one background thread, in the partitions' order."""

    def __init__(self, partitions: LakePartitions):
        self._partitions = partitions
        self._order = {key: i for i, key in enumerate(partitions.keys)}
        self._read: dict[str, Future] = {}
        self._reader = ThreadPoolExecutor(max_workers=1)

    def read(self, key: str) -> pd.DataFrame:
        """The rows of partition `key`: read now, or taken from an earlier read or prefetch."""
        self.prefetch(key)
        return self._read[key].result()

    def prefetch(self, key: str | None) -> None:
        """Start reading `key` (if not read or being read already); None does nothing."""
        if key is not None and key not in self._read:
            self._read[key] = self._reader.submit(self._partitions.read, [key])

    def release_through(self, key: str) -> None:
        """Forget the partitions up to `key` (inclusive): no later read needs them."""
        last = self._order[key]
        for old in [k for k in self._read if self._order[k] <= last]:
            del self._read[old]

    def close(self) -> None:
        """Stop the thread; a prefetch not started yet is dropped."""
        self._reader.shutdown(cancel_futures=True)


def read_groups(
    partitions: LakePartitions, groups: list[list[str]], **options
) -> Iterator[pd.DataFrame]:
    """The rows of each group of partitions in turn, the next group read in a background
    thread while the caller works on the current one (two groups in memory at most)."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(partitions.read, groups[0], **options) if groups else None
        for index in range(len(groups)):
            frame = pending.result()
            if index + 1 < len(groups):
                pending = reader.submit(partitions.read, groups[index + 1], **options)
            yield frame
            del frame  # the caller's reference is the last one

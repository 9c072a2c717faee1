"""Peak resident memory of this process, sampled in a thread.

Arrow buffers are invisible to tracemalloc, and ru_maxrss cannot be reset between phases,
so each measured phase samples /proc/self/statm.
"""

from __future__ import annotations

import os
import threading
import time


class PeakRss:
    """Samples this process's resident memory every few milliseconds."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())

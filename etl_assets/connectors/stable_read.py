"""Reading a landing file that nobody is writing: the bytes of one version of it, or none.

An uploader may write over a file while bronze reads it (`cp` over yesterday's file, a
slow upload, a resend). A plain read then returns the start of one version and the end of
another, or a prefix: bronze would parse it, record a checksum of neither version, and the
run would succeed with rows missing. Here a file is looked at (size, mtime, ctime, inode;
on an object store size, time and version tag) before and after one read of all its
bytes; a difference, or a byte count that is not the size, means it changed while read.
It is then read again after a pause, a few times, and if it never holds still the read
fails with a message naming the file. The bytes returned are what the caller parses and
hashes, from this one read, so the recorded SHA-256 and size are those of the bronze rows.

The same rule decides "still being written" for `etl-assets run` (`unsettled`): a file
that is empty, or whose look changed between two looks, is not ready, as for the landing
sensor (automation/landing_watch.py), which compares two ticks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from upath import UPath

from etl_assets.transforms.bronze import LandingFileError

# Re-read a changing file after these pauses (seconds), then give up: ~3.5 s in all.
REREAD_PAUSES = (0.5, 1.0, 2.0)
# A local file whose ctime is older than this cannot be in the middle of a write that
# `unsettled` would see; younger ones get a second look after this long.
SETTLE_SECONDS = 1.0

_REMOTE_VERSION_KEYS = ("ETag", "etag", "md5Hash", "generation")
_REMOTE_TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated")

CHANGED_ADVICE = "changed while it was read; re-run when the upload has finished."


class LandingFileChanging(LandingFileError):
    """A landing file kept changing while it was read."""


def look(path: UPath) -> tuple:
    """What changes whenever a file's content can have changed."""
    if path.protocol in ("", "file", "local"):
        stat = os.stat(path.path)
        return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    info = path.fs.info(path.path)
    version = next((info[k] for k in _REMOTE_VERSION_KEYS if info.get(k)), "")
    changed = next((info[k] for k in _REMOTE_TIME_KEYS if info.get(k)), "")
    return (int(info.get("size") or 0), str(changed), str(version))


def read_whole(
    path: UPath,
    pauses: Iterable[float] = REREAD_PAUSES,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """All bytes of one unchanged version of `path` (re-read after each pause while it
    changes); raises LandingFileChanging naming the file when it never holds still.
    FileNotFoundError passes through."""
    seen = ""
    for pause in (*pauses, None):
        before = look(path)
        data = path.read_bytes()
        after = look(path)
        if before == after and len(data) == after[0]:
            return data
        seen = _what_changed(before, after, len(data))
        if pause is not None:
            sleep(pause)
    raise LandingFileChanging(
        f"landing file {path} {CHANGED_ADVICE.removesuffix('.')} ({seen}; it was read "
        f"{len(tuple(pauses)) + 1} times over a few seconds and changed every time). Nothing "
        "of it was ingested."
    )


def _what_changed(before: tuple, after: tuple, read: int) -> str:
    if before[0] != after[0]:
        return f"size {before[0]:,} -> {after[0]:,} bytes"
    if read != after[0]:
        return f"{read:,} bytes read of {after[0]:,}"
    return "rewritten in place: same size, new modification time"


def unsettled(
    base_dir: str,
    relatives: Iterable[str],
    settle_seconds: float = SETTLE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    now_ns: Callable[[], int] = time.time_ns,
) -> dict[str, str]:
    """The files among `relatives` that are still being written, with why: empty, or their
    look changed within `settle_seconds` (a file changed longer ago than that is looked at
    once)."""
    base = UPath(base_dir)
    first: dict[str, tuple] = {}
    reasons: dict[str, str] = {}
    local = base.protocol in ("", "file", "local")
    margin = int(settle_seconds * 1e9)
    recent = []
    for relative in relatives:
        try:
            first[relative] = seen = look(base / relative)
        except FileNotFoundError:
            continue
        if seen[0] == 0:
            reasons[relative] = "empty: still being written"
        elif not local or now_ns() - max(seen[1], seen[2]) < margin:
            recent.append(relative)
    if recent:
        sleep(settle_seconds)
        for relative in recent:
            try:
                again = look(base / relative)
            except FileNotFoundError:
                reasons[relative] = "removed while it was looked at"
                continue
            if again != first[relative]:
                change = _what_changed(first[relative], again, again[0])
                reasons[relative] = (
                    f"changed within {settle_seconds:g} s ({change}): still being written"
                )
    return reasons

"""One look at the landing directory: every file below it, with when it last changed, and a
file's checksum. `LandingFiles.scan()` and `LandingFiles.sha256_of()` are the way in.

Local directories are walked with os.scandir (one stat per file: 10,000 files in tens of
milliseconds). A local file's change time is its ctime, which the kernel sets on every
write, rename into place and link, and which no copy tool can set back (unlike mtime:
`cp -p` and rsync preserve that). Any other fsspec URL (s3://, memory://, ...) is listed
with the filesystem's `find`, and the change time is what the store reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass

from upath import UPath

_LOCAL_PROTOCOLS = ("", "file", "local")
# Keys that remote filesystems use for "when it last changed", most precise first.
_REMOTE_TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created")
_REMOTE_VERSION_KEYS = ("ETag", "etag", "md5Hash", "generation")
# How far a change time may trail the moment the file becomes visible. Locally the clock is
# the kernel's own; an object store stamps a multipart upload with its start, and its clock
# is not ours.
LOCAL_CLOCK_MARGIN_NS = 1_000_000_000
REMOTE_CLOCK_MARGIN_NS = 15 * 60 * 1_000_000_000


class LandingDirectoryMissing(FileNotFoundError):
    """The landing directory does not exist (unmounted, deleted, or not created yet)."""


@dataclass(frozen=True)
class LandingEntry:
    """A file below the landing directory, by its path relative to it (POSIX separators)."""

    relative: str
    size: int
    fingerprint: str  # differs between two versions of the file
    changed_ns: int | None  # when it last changed (None: the store does not say)
    outside_target: str | None = None  # set when a symlink resolves outside the directory


def scan_landing(base_dir: str) -> list[LandingEntry]:
    """Every file below `base_dir`; raises LandingDirectoryMissing when it is not there."""
    base = UPath(base_dir)
    if _is_local(base):
        return _scan_local(os.path.abspath(base.path))
    return _scan_remote(base)


def clock_margin_ns(base_dir: str) -> int:
    return LOCAL_CLOCK_MARGIN_NS if _is_local(UPath(base_dir)) else REMOTE_CLOCK_MARGIN_NS


def sha256_of(base_dir: str, relative: str) -> str:
    """Hex SHA-256 of a landing file, streamed (a large file is never held in memory)."""
    with (UPath(base_dir) / relative).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _is_local(base: UPath) -> bool:
    return base.protocol in _LOCAL_PROTOCOLS


def _scan_local(root: str) -> list[LandingEntry]:
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise LandingDirectoryMissing(f"landing directory {root} does not exist")
    entries: list[LandingEntry] = []
    folders = [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except FileNotFoundError:
            if folder == root:
                raise LandingDirectoryMissing(f"landing directory {root} vanished") from None
            continue  # a sub-directory removed while we looked
        for item in items:
            relative = prefix + item.name
            try:
                if item.is_dir(follow_symlinks=False):
                    folders.append((item.path, relative + "/"))
                    continue
                entry = _local_entry(item, relative, real_root)
            except FileNotFoundError:
                continue  # removed between listing and stat
            if entry is not None:
                entries.append(entry)
    return entries


def _local_entry(item: os.DirEntry, relative: str, real_root: str) -> LandingEntry | None:
    if item.is_symlink():
        target = os.path.realpath(item.path)
        if os.path.commonpath([target, real_root]) != real_root:
            return LandingEntry(relative, 0, "", None, outside_target=target)
        if not os.path.isfile(target):
            return None  # a link to a folder inside: not followed (it could loop)
        stat = os.stat(target)
        changed = max(stat.st_ctime_ns, item.stat(follow_symlinks=False).st_ctime_ns)
    elif item.is_file(follow_symlinks=False):
        stat = item.stat(follow_symlinks=False)
        changed = stat.st_ctime_ns
    else:
        return None  # sockets, fifos, devices
    fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
    return LandingEntry(relative, stat.st_size, fingerprint, changed)


def _scan_remote(base: UPath) -> list[LandingEntry]:
    fs, root = base.fs, base.path.rstrip("/")
    if not fs.isdir(root):
        raise LandingDirectoryMissing(f"landing directory {base} does not exist")
    try:
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        raise LandingDirectoryMissing(f"landing directory {base} vanished") from None
    entries = []
    for name, info in found.items():
        relative = name[len(root) :].lstrip("/")
        size = int(info.get("size") or 0)
        changed = next((_ns(info[k]) for k in _REMOTE_TIME_KEYS if info.get(k)), None)
        version = next((str(info[k]) for k in _REMOTE_VERSION_KEYS if info.get(k)), "")
        entries.append(LandingEntry(relative, size, f"{size}:{changed}:{version}", changed))
    return entries


def _ns(value: object) -> int | None:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1e9)
    if isinstance(value, int | float):
        return int(value * 1e9)
    try:
        return int(dt.datetime.fromisoformat(str(value)).timestamp() * 1e9)
    except ValueError:
        return None

"""The landing directory as a resource: where a source's file for a day is, its bytes, and
what the landing sensor needs to watch it: every file with when it last changed, and a
file's checksum (connectors/landing_scan.py does the walking and hashing).

`base_dir` is a local path or any fsspec URL (s3://, gs://, memory://, ...) through
universal-pathlib. Relative paths come from source declarations and partition keys, so
they are checked to stay inside `base_dir`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath

import dagster as dg
from upath import UPath

from etl_assets.connectors.landing_scan import (
    LandingEntry,
    clock_margin_ns,
    scan_landing,
    sha256_of,
)
from etl_assets.connectors.stable_read import read_whole
from etl_assets.transforms.bronze import LandingFileError

DATE_PLACEHOLDER = "{date}"
_DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class LandingPathError(ValueError):
    """A pattern, day or relative path that is malformed or points outside the landing dir."""


class LandingFileMissing(LandingFileError, FileNotFoundError):
    """The expected landing file is not there."""


class LandingFiles(dg.ConfigurableResource):
    """Reads landing files below `base_dir`; never writes."""

    base_dir: str

    def path_for(self, pattern: str, day: str | None) -> str:
        """The relative path of a source's file: `pattern` with `{date}` replaced by `day`
        (YYYY-MM-DD); `day` is None exactly when the pattern has no `{date}`."""
        if (DATE_PLACEHOLDER in pattern) != (day is not None):
            raise LandingPathError(
                f"pattern '{pattern}' and day {day!r} do not fit: a day is needed when, and "
                f"only when, the pattern holds {DATE_PLACEHOLDER}."
            )
        relative = pattern if day is None else pattern.replace(DATE_PLACEHOLDER, _checked_day(day))
        _check_relative(relative)
        return relative

    def read_bytes(self, relative_path: str) -> bytes:
        """Every byte of one version of the file: a file that changes while it is read is
        read again, then refused (connectors/stable_read.py)."""
        path = self._resolve(relative_path)
        try:
            return read_whole(path)
        except FileNotFoundError as error:
            raise LandingFileMissing(
                f"landing file not found: {path} (expected '{relative_path}' under the landing "
                f"directory {self.base_dir}). Drop the file there, or run `etl-assets sample` "
                "to write sample landing data, then run again."
            ) from error

    def exists(self, relative_path: str) -> bool:
        return self._resolve(relative_path).is_file()

    def list_files(self, pattern: str) -> list[tuple[str, str]]:
        """(day, relative path) of the files matching a `{date}` pattern, sorted by day."""
        if DATE_PLACEHOLDER not in pattern:
            raise LandingPathError(
                f"pattern '{pattern}' has no {DATE_PLACEHOLDER}: there are no days to list; "
                "use exists() for an undated file."
            )
        _check_relative(pattern.replace(DATE_PLACEHOLDER, "0000-00-00"))
        base = self._base()
        # glob may match more than the pattern (the * is loose); the regex keeps real days.
        matcher = re.compile(
            re.escape(pattern).replace(re.escape(DATE_PLACEHOLDER), rf"({_DAY_PATTERN.pattern})")
        )
        found = []
        for path in base.glob(pattern.replace(DATE_PLACEHOLDER, "*")):
            relative = path.relative_to(base).as_posix()
            match = matcher.fullmatch(relative)
            if match and _is_day(match.group(1)):
                found.append((match.group(1), relative))
        return sorted(found)

    def scan(self) -> list[LandingEntry]:
        """Every file below `base_dir`, with its size, fingerprint and change time; raises
        LandingDirectoryMissing when the directory is not there."""
        return scan_landing(self.base_dir)

    def sha256_of(self, relative_path: str) -> str:
        """Hex SHA-256 of a file found by `scan()`, streamed."""
        return sha256_of(self.base_dir, relative_path)

    def clock_margin_ns(self) -> int:
        """How far a file's change time may trail the moment it becomes visible."""
        return clock_margin_ns(self.base_dir)

    def _base(self) -> UPath:
        return UPath(self.base_dir)

    def _resolve(self, relative_path: str) -> UPath:
        _check_relative(relative_path)
        return self._base() / relative_path


def _checked_day(day: str) -> str:
    if not _is_day(day):
        raise LandingPathError(f"day {day!r} is not a calendar day written YYYY-MM-DD.")
    return day


def _is_day(text: str) -> bool:
    if not _DAY_PATTERN.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_relative(relative_path: str) -> None:
    """Refuse what would leave the landing directory: absolute paths, URLs, `..`."""
    path = PurePosixPath(relative_path.replace("\\", "/"))
    if not relative_path or path.is_absolute() or ".." in path.parts or ":" in relative_path:
        raise LandingPathError(
            f"'{relative_path}' is not a relative path inside the landing directory (absolute "
            "paths, URLs and '..' are refused). Fix the `path:` of the source declaration."
        )

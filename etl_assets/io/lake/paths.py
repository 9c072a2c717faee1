"""Where the Parquet lake keeps an asset's files, and which partitions have one.

Layout under ``base_path`` (a local directory or any fsspec URL)::

    <base>/<asset key path>.parquet                  e.g. lake/gold/customer_rfm.parquet
    <base>/<asset key path>/<partition key>.parquet  e.g. lake/bronze/orders/2024-01-05.parquet
"""

import os
from collections.abc import Sequence

import dagster as dg
from upath import UPath

SUFFIX = ".parquet"

_LOCAL_PROTOCOLS = ("", "file", "local")


def lake_path(
    base_path: str | os.PathLike,
    asset_key: dg.AssetKey | str | Sequence[str],
    partition_key: str | None = None,
) -> UPath:
    """Where the lake stores an asset (``partition_key=None``) or one partition of it.

    ``asset_key`` may be an ``AssetKey``, a list of path components or a ``"a/b"`` string.
    """
    components = _asset_key(asset_key).path
    if partition_key is None:
        *folders, name = components
        return UPath(base_path).joinpath(*map(_path_segment, folders), _path_segment(name) + SUFFIX)
    return asset_directory(base_path, asset_key) / (_path_segment(partition_key) + SUFFIX)


def asset_directory(base_path: str | os.PathLike, asset_key) -> UPath:
    """The directory holding a partitioned asset's files."""
    return UPath(base_path).joinpath(*map(_path_segment, _asset_key(asset_key).path))


def partition_paths(
    base_path: str | os.PathLike, asset_key: dg.AssetKey, keys: Sequence[str]
) -> dict[str, UPath]:
    """Each partition key's file, in the order of ``keys``."""
    directory = asset_directory(base_path, asset_key)
    return {key: directory / (_path_segment(key) + SUFFIX) for key in keys}


def existing_partitions(base_path: str, asset_key: dg.AssetKey, keys: Sequence[str]) -> set[str]:
    """Which partitions have a file: one exists() for one key, one listing for many (a
    reader of every day asks for years of keys, most of them never written)."""
    if len(keys) == 1:
        return {key for key in keys if lake_path(base_path, asset_key, key).exists()}
    names = _file_names(asset_directory(base_path, asset_key))
    return {key for key in keys if _path_segment(key) + SUFFIX in names}


def is_local(path: UPath) -> bool:
    return path.protocol in _LOCAL_PROTOCOLS


def _asset_key(asset_key: dg.AssetKey | str | Sequence[str]) -> dg.AssetKey:
    if isinstance(asset_key, str):
        return dg.AssetKey.from_user_string(asset_key)
    return dg.AssetKey.from_coercible(asset_key)


def _path_segment(text: str) -> str:
    # A key must stay one path segment inside its parent: escape separators and dot-dirs.
    segment = text.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return {".": "%2E", "..": "%2E%2E"}.get(segment, segment)


def _file_names(directory: UPath) -> set[str]:
    try:
        return {child.name for child in directory.iterdir()}
    except (FileNotFoundError, NotADirectoryError):
        return set()

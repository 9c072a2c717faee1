"""Code versions from the declarations, and bronze's dependency on its landing asset.

An asset's `code_version` is a short hash of what decides its content: the parts of the
source's declaration that matter for its layer, and a version constant of the transform
(bump it when a transform's output changes for the same input). Dagster compares it with
the code version recorded at the last materialization: a difference shows the asset as
unsynced ("has a new code version") and `etl-assets run --changed` runs it again.

| layer | what decides it |
|---|---|
| bronze | connector, format, path, partitioning, the raw column names, http/postgres blocks |
| silver + quarantine | the whole declaration but its description, owners and expectations |
| gold | the mart's spec (keys, columns, inputs, compute's source) + its inputs' silver versions |
| warehouse copies | the gold code version + the copy's version |

A description, an owner or an expectation changes no code version: they change no row.
Gold takes its silver inputs' code versions in, so a rule change shows silver and every
mart below it unsynced before anything has run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence

import dagster as dg

from etl_assets.assets.landing import landing_key, observable_sources
from etl_assets.marts.spec import MartSpec
from etl_assets.sources import SourceSpec
from etl_assets.sources.spec import is_documentation

# Bump when the layer's transform gives other rows for the same declaration and input.
BRONZE_VERSION = "1"
SILVER_VERSION = "1"
GOLD_VERSION = "1"
WAREHOUSE_VERSION = "1"

_BRONZE_FIELDS = ("name", "connector", "format", "path", "partitioning", "http", "postgres",
                  "ignore_fields", "encoding", "delimiter")  # fmt: skip
_NOT_SILVER = {"description", "owners", "expectations", "file"}


def _plain(value: object) -> object:
    """A JSON-able, order-stable picture of a declaration part."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not is_documentation(f)  # a description never decides content
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if callable(value):
        return _function_text(value)
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def _function_text(function: Callable) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', '')}"


def _digest(*parts: object) -> str:
    text = json.dumps([_plain(p) for p in parts], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def bronze_code_version(spec: SourceSpec) -> str:
    fields = {name: getattr(spec, name) for name in _BRONZE_FIELDS}
    spellings = [(c.name, c.aliases) for c in spec.columns]  # which header names are read
    return _digest(BRONZE_VERSION, fields, spec.raw_columns, spec.required_raw_columns, spellings)


def silver_code_version(spec: SourceSpec) -> str:
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    return _digest(SILVER_VERSION, {k: v for k, v in fields.items() if k not in _NOT_SILVER})


def gold_code_version(mart: MartSpec, sources: Mapping[str, SourceSpec]) -> str:
    fields = {
        f.name: getattr(mart, f.name) for f in dataclasses.fields(mart) if not is_documentation(f)
    }
    fields.pop("description", None)
    inputs = sorted({i.source for i in mart.inputs})
    silver = [silver_code_version(sources[name]) for name in inputs if name in sources]
    return _digest(GOLD_VERSION, fields, silver)


def code_versions(
    sources: Mapping[str, SourceSpec], marts: Sequence[MartSpec]
) -> dict[dg.AssetKey, str]:
    versions: dict[dg.AssetKey, str] = {}
    for spec in sources.values():
        versions[dg.AssetKey(["bronze", spec.name])] = bronze_code_version(spec)
        silver = silver_code_version(spec)
        versions[dg.AssetKey(["silver", spec.name])] = silver
        versions[dg.AssetKey(["silver", f"{spec.name}_quarantine"])] = silver
    for mart in marts:
        versions[dg.AssetKey(list(mart.asset))] = gold_code_version(mart, sources)
    return versions


def with_versions(
    assets: Iterable[dg.AssetsDefinition],
    sources: Mapping[str, SourceSpec],
    marts: Sequence[MartSpec],
) -> list[dg.AssetsDefinition]:
    """Every asset with its code version, and bronze depending on its landing asset."""
    versions = code_versions(sources, marts)
    landing = {
        dg.AssetKey(["bronze", spec.name]): landing_key(spec)
        for spec in observable_sources(sources.values())
    }

    def versioned(spec: dg.AssetSpec) -> dg.AssetSpec:
        version = versions.get(spec.key)
        if version is None:  # a copy of another asset (the warehouse): its parents' versions
            parents = sorted(versions[d.asset_key] for d in spec.deps if d.asset_key in versions)
            version = _digest(WAREHOUSE_VERSION, parents) if parents else None
        if version is None:
            return spec
        deps = list(spec.deps)
        if spec.key in landing:
            deps.append(dg.AssetDep(landing[spec.key]))
        return spec.replace_attributes(code_version=version, deps=deps)

    return [asset.map_asset_specs(versioned) for asset in assets]

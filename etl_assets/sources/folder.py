"""The sources folder: every declaration in it, loaded together, and resolved against the
environment's URLs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from etl_assets.sources.loading import load_source
from etl_assets.sources.spec import DATE_PLACEHOLDER, SourceDeclarationError, SourceSpec


def default_sources_dir() -> Path:
    return Path(__file__).parent


def resolve_connector(spec: SourceSpec, urls: Mapping[str, str]) -> SourceSpec:
    """The spec as this environment reads it: `urls` maps ETL_..._URL variables to values.

    A source with `http.url_env` whose variable is set reads that URL over HTTP, whatever
    its declared connector (so a files source can switch to an API); one declared http
    with neither a URL nor its variable set fails here, naming the variable.
    """
    if spec.http is None:
        return spec
    url = urls.get(spec.http.url_env or "") or None
    if url is not None:
        if (DATE_PLACEHOLDER in url) != spec.is_daily:
            raise SourceDeclarationError(
                spec.file,
                "http.url_env",
                f"{spec.http.url_env}={url!r}: a daily source needs {DATE_PLACEHOLDER} in its "
                "URL; an undated one must not have it",
            )
        return replace(spec, connector="http", http=replace(spec.http, url=url))
    if spec.connector == "http" and spec.http.url is None:
        raise SourceDeclarationError(
            spec.file,
            "http.url_env",
            f"the environment variable {spec.http.url_env} is not set; set it to the API's URL",
        )
    return spec


def load_sources(
    directory: Path | str | None = None, urls: Mapping[str, str] | None = None
) -> dict[str, SourceSpec]:
    """Every `*.yaml` declaration in `directory`, keyed by source name; with `urls` (see
    `resolve_connector`) each as this environment reads it."""
    directory = Path(directory) if directory else default_sources_dir()
    specs: dict[str, SourceSpec] = {}
    for file in sorted(directory.glob("*.yaml")):
        spec = load_source(file)
        if urls is not None:
            spec = resolve_connector(spec, urls)
        if spec.name in specs:
            raise SourceDeclarationError(
                file, "name", f"{spec.name!r} is already declared in {specs[spec.name].file}"
            )
        specs[spec.name] = spec
    return specs


def check_sources(
    directory: Path | str | None = None,
) -> tuple[list[SourceSpec], list[SourceDeclarationError]]:
    """Every declaration in `directory` loaded on its own: the valid specs and every error
    (not only the first), for `etl-assets validate-sources`."""
    directory = Path(directory) if directory else default_sources_dir()
    specs: list[SourceSpec] = []
    errors: list[SourceDeclarationError] = []
    seen: dict[str, str] = {}
    for file in sorted(directory.glob("*.yaml")):
        try:
            spec = load_source(file)
        except SourceDeclarationError as error:
            errors.append(error)
            continue
        if spec.name in seen:
            errors.append(
                SourceDeclarationError(
                    file, "name", f"{spec.name!r} is already declared in {seen[spec.name]}"
                )
            )
            continue
        seen[spec.name] = spec.file
        specs.append(spec)
    return specs, errors

"""Custom silver hooks: Python for the rule a declaration cannot say in YAML.

    silver_hook:
      function: quakes_hooks.py:updated_before_event   # or my_team.quality:updated_before_event
      reasons: [updated_before_event]                   # every reason it may return

`function` is `<where>:<name>`, where <where> is a `.py` file next to the declaration or
an importable module. The function takes the typed silver frame and returns a Series of
reject reasons aligned with it: a string quarantines the row with that reason, a null
keeps it. Declaring the reasons keeps the set of reject reasons closed (quality checks
hold the quarantine to it). See docs/add-a-source.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_assets.sources.reserved_columns import REJECT_REASON_PREFIXES

HOOK_PATTERN = re.compile(r"^(?P<where>[A-Za-z0-9_./\-]+):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")


class HookError(ValueError):
    """A hook reference that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class HookSpec:
    function: str  # "file.py:name" or "package.module:name"
    reasons: tuple[str, ...]  # the reject reasons it may return

    def __str__(self) -> str:
        return self.function


def read_hook(reader, raw: Any, file: Path, taken: set[str]) -> HookSpec | None:
    """The validated `silver_hook:` block; `taken` holds reasons already in use (rules)."""
    if raw is None:
        return None
    raw = reader.mapping(raw, "silver_hook")
    reader.keys(raw, "silver_hook.", {"function", "reasons"}, set())
    function = reader.text(raw["function"], "silver_hook.function")
    try:
        resolve_hook(function, file)
    except HookError as error:
        raise reader.fail("silver_hook.function", str(error)) from error
    reasons = reader.string_list(raw["reasons"], "silver_hook.reasons")
    if not reasons:
        raise reader.fail("silver_hook.reasons", "list every reason the hook may return")
    for i, reason in enumerate(reasons):
        reader.identifier(reason, f"silver_hook.reasons[{i}]")
        if reason in taken or reason in reasons[:i] or reason.startswith(REJECT_REASON_PREFIXES):
            raise reader.fail(f"silver_hook.reasons[{i}]", f"{reason!r} is already a reason")
    return HookSpec(function, reasons)


def resolve_hook(reference: str, declaration: Path) -> Callable:
    """The function a `silver_hook` reference names, imported now."""
    match = HOOK_PATTERN.match(reference)
    if not match:
        raise HookError(f"{reference!r} must look like file.py:function or package.module:function")
    where, name = match["where"], match["function"]
    module = _load_file(where, declaration) if where.endswith(".py") else _import(where)
    function = getattr(module, name, None)
    if not callable(function):
        raise HookError(f"{where} has no function named {name!r}")
    return function


def _load_file(relative: str, declaration: Path):
    path = (declaration.parent / relative).resolve()
    if not path.is_file():
        raise HookError(f"{path} does not exist (the path is relative to the declaration)")
    module_name = f"etl_assets_hooks.{path.stem}_{abs(hash(str(path))):x}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's file: say which one failed and how
        raise HookError(f"{path} failed to import: {type(error).__name__}: {error}") from error
    sys.modules[module_name] = module
    return module


def _import(module_name: str):
    try:
        return importlib.import_module(module_name)
    except Exception as error:
        raise HookError(
            f"module {module_name!r} cannot be imported: {type(error).__name__}: {error}"
        ) from error

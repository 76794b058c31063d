"""Versions: publishing, allocation of new cases to versions (the seeded split), and
migration of running cases between versions (dry run, move, revert). Builds on workflow.
This __init__ is the package's public surface for web/ and adapters/.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.versions.change_words import ChangeLine, describe, kind_of_step
    from engine.versions.migration import StepChange, StepSummary, VersionDiff
    from engine.versions.migration_commands import MigrationReport, Started
    from engine.versions.version_commands import StepLoad

# Each name loads its module on first use (they load SpiffWorkflow; the handlers of the
# Engine facade that only read storage go without).


def __getattr__(name: str) -> Any:
    module: ModuleType
    if name in ("ChangeLine", "describe", "kind_of_step"):
        from engine.versions import change_words as module
    elif name in ("StepChange", "StepSummary", "VersionDiff"):
        from engine.versions import migration as module
    elif name in ("MigrationReport", "Started"):
        from engine.versions import migration_commands as module
    elif name == "StepLoad":
        from engine.versions import version_commands as module
    else:
        raise AttributeError(f"module 'engine.versions' has no attribute {name!r}")
    return getattr(module, name)


__all__ = [
    "ChangeLine",
    "MigrationReport",
    "Started",
    "StepChange",
    "StepLoad",
    "StepSummary",
    "VersionDiff",
    "describe",
    "kind_of_step",
]

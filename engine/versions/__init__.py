"""Versions: publishing, allocation of new cases to versions (the seeded split), and
migration of running cases between versions (dry run, move, revert). Builds on workflow.
This __init__ is the package's public surface for web/ and adapters/.
"""

from engine.versions.change_words import ChangeLine, describe, kind_of_step
from engine.versions.migration import StepChange, StepSummary, VersionDiff
from engine.versions.migration_commands import MigrationReport, Started
from engine.versions.version_commands import StepLoad

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

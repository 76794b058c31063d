"""Cases: `Engine`, the entry point, and its command handlers for cases, clients and
messages (start, complete, timers, retry, cancel, signals), each on the workflow's
transaction template. Builds on workflow and versions (a new case's version is allocated).
This __init__ is the package's public surface for web/ and adapters/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.cases.case_queries import CaseStream
from engine.cases.services import VersionSummary

if TYPE_CHECKING:
    from engine.cases.services import MigrationReport


def __getattr__(name: str) -> Any:
    """MigrationReport from its module when first asked (it loads SpiffWorkflow)."""
    if name == "MigrationReport":
        from engine.cases import services

        return services.MigrationReport
    raise AttributeError(f"module 'engine.cases' has no attribute {name!r}")


__all__ = [
    "CaseStream",
    "MigrationReport",
    "VersionSummary",
]

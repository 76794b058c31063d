"""Cases: `Engine`, the entry point, and its command handlers for cases, clients and
messages (start, complete, timers, retry, cancel, signals), each on the workflow's
transaction template. Builds on workflow and versions (a new case's version is allocated).
This __init__ is the package's public surface for web/ and adapters/.
"""

from engine.cases.case_queries import CaseStream
from engine.cases.services import MigrationReport, VersionSummary

__all__ = [
    "CaseStream",
    "MigrationReport",
    "VersionSummary",
]

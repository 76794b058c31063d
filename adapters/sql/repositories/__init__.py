"""The storage ports of engine.ports over SQLAlchemy Core: one class per port, one module
per feature (workflow, versions, casework, outcomes).

Each repository works on the Connection of its unit of work and never commits. Timestamps
the engine leaves out (a None created_at or updated_at, closed_at of inbox rows replace_open
closes) come from engine.workflow.clock.current_time: the time of the command inside running_at(),
the system time outside it.

Records the engine owns as mutable objects (Client, CaseRecord) get their id, timestamps and
revision set in place and are returned; frozen ones come back as updated copies.

Note: classes with a `list` method spell the builtin `builtins.list` in annotations, which
would otherwise name the method.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.sql.repositories.casework import (
        SqlAccessLog,
        SqlClientRepository,
        SqlConsentRepository,
        SqlDefinitionDraftRepository,
        SqlDraftRepository,
        SqlOrganisationRepository,
        SqlSavedFilterRepository,
        SqlSessionRepository,
        SqlTokenRepository,
        SqlUserRepository,
    )
    from adapters.sql.repositories.due_work import SqlMessageRepository, SqlTimerRepository
    from adapters.sql.repositories.notes import SqlCaseNoteRepository
    from adapters.sql.repositories.outcomes import SqlOutcomeRepository
    from adapters.sql.repositories.versions import SqlAllocationRepository, SqlMigrationRepository
    from adapters.sql.repositories.workflow import (
        CLOSED,
        OPEN,
        SqlCaseRepository,
        SqlEventLog,
        SqlInboxRepository,
        SqlVersionRepository,
    )

# Each name loads its module on first use: a unit of work imports the repositories it uses.
_WHERE = {
    "SqlAccessLog": "casework",
    "SqlClientRepository": "casework",
    "SqlConsentRepository": "casework",
    "SqlDefinitionDraftRepository": "casework",
    "SqlDraftRepository": "casework",
    "SqlOrganisationRepository": "casework",
    "SqlSavedFilterRepository": "casework",
    "SqlSessionRepository": "casework",
    "SqlTokenRepository": "casework",
    "SqlUserRepository": "casework",
    "SqlMessageRepository": "due_work",
    "SqlTimerRepository": "due_work",
    "SqlCaseNoteRepository": "notes",
    "SqlOutcomeRepository": "outcomes",
    "SqlAllocationRepository": "versions",
    "SqlMigrationRepository": "versions",
    "CLOSED": "workflow",
    "OPEN": "workflow",
    "SqlCaseRepository": "workflow",
    "SqlEventLog": "workflow",
    "SqlInboxRepository": "workflow",
    "SqlVersionRepository": "workflow",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"adapters.sql.repositories.{_WHERE[name]}"),
                       name)
    raise AttributeError(f"module 'adapters.sql.repositories' has no attribute {name!r}")


__all__ = [
    "CLOSED",
    "OPEN",
    "SqlAccessLog",
    "SqlAllocationRepository",
    "SqlCaseNoteRepository",
    "SqlCaseRepository",
    "SqlClientRepository",
    "SqlConsentRepository",
    "SqlDefinitionDraftRepository",
    "SqlDraftRepository",
    "SqlEventLog",
    "SqlInboxRepository",
    "SqlMessageRepository",
    "SqlMigrationRepository",
    "SqlOrganisationRepository",
    "SqlOutcomeRepository",
    "SqlSavedFilterRepository",
    "SqlSessionRepository",
    "SqlTimerRepository",
    "SqlTokenRepository",
    "SqlUserRepository",
    "SqlVersionRepository",
]

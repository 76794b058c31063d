"""Pathways' engine: runs service pathways on SpiffWorkflow and records every step.

The rule of this package: it does no I/O of its own and imports neither Flask nor
SQLAlchemy (a test enforces it). Storage, the clock and outside services reach it only
through the ports in `engine.ports`, which `adapters` implement and `adapters.bootstrap`
wires. That keeps the core testable with in-memory fakes and free of any one technology.
"""

from engine.cases.services import CaseView, CompletionResult, Engine, PublishResult, TaskView
from engine.errors import (
    CaseStateError,
    ConflictError,
    DefinitionError,
    EngineError,
    ForbiddenError,
    FormValidationError,
    InvalidArgumentError,
    NotFoundError,
    ScriptError,
)

__all__ = [
    "CaseStateError",
    "CaseView",
    "CompletionResult",
    "ConflictError",
    "DefinitionError",
    "Engine",
    "EngineError",
    "ForbiddenError",
    "FormValidationError",
    "InvalidArgumentError",
    "NotFoundError",
    "PublishResult",
    "ScriptError",
    "TaskView",
]

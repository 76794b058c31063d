"""Pathways' engine: runs service pathways on SpiffWorkflow and records every step.

The rule of this package: it does no I/O of its own and imports neither Flask nor
SQLAlchemy (a test enforces it). Storage, the clock and outside services reach it only
through the ports in `engine.ports`, which `adapters` implement and `adapters.bootstrap`
wires. That keeps the core testable with in-memory fakes and free of any one technology.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from engine.cases.services import (
        CaseView,
        CompletionResult,
        Engine,
        PublishResult,
        TaskView,
    )

# The services load on first use: the errors alone (what a command line's --help needs) do
# not pull in SpiffWorkflow and every module of the engine.
_SERVICES = frozenset({"CaseView", "CompletionResult", "Engine", "PublishResult", "TaskView"})


def __getattr__(name: str) -> Any:
    if name in _SERVICES:
        from engine.cases import services

        return getattr(services, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")

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

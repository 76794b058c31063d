"""Every error the engine raises: one root, typed fields, a stable machine-readable code.

The CLI prints them as {"error": {"code", "message", "details"}}; the web layer maps codes to
HTTP statuses in one place.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFoundError(EngineError):
    code = "not_found"


class DefinitionError(EngineError):
    """A definition that cannot be published: it does not parse or refers to what is missing."""

    code = "invalid_definition"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, element: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        where = ":".join(str(part) for part in (file, line, column) if part is not None)
        full = f"{where}: {message}" if where else message
        if element:
            full += f" (element {element!r})"
        merged = {"file": file, "line": line, "column": column, "element": element,
                  **(details or {})}
        super().__init__(full, details={k: v for k, v in merged.items() if v is not None})
        self.reason = message  # the message without its location
        self.file = file
        self.line = line
        self.column = column
        self.element = element


class FormValidationError(EngineError):
    """Submitted data that does not match the task's form. Nothing was saved."""

    code = "invalid_data"

    def __init__(self, message: str, *, fields: dict[str, list[str]]) -> None:
        super().__init__(message, details={"fields": fields})
        self.fields = fields


class ConflictError(EngineError):
    """The case changed since it was loaded (someone else completed or fired something)."""

    code = "conflict"


class DuplicateCaseError(ConflictError):
    """The client already has an open case of the pathway: starting another needs saying
    so (details: pathway, cases)."""

    code = "duplicate_case"


class CaseStateError(EngineError):
    """The command does not fit the case's state (e.g. completing a task on a cancelled case)."""

    code = "invalid_state"


class ScriptError(EngineError):
    """A script or expression in a definition failed or was refused by the sandbox."""

    code = "script_error"


class InvalidArgumentError(EngineError):
    """A request that names something impossible (an unknown version, a bad weight, ...)."""

    code = "invalid_argument"


class ForbiddenError(EngineError):
    """The user may not do this (where saying so reveals nothing: for something the user may
    not even know exists, NotFoundError is raised instead)."""

    code = "forbidden"


class TooLargeError(EngineError):
    """An upload over the size limit (details.limit: the limit in bytes)."""

    code = "too_large"


class InfectedError(EngineError):
    """An upload the virus scanner found something in; nothing was stored."""

    code = "infected"


class ScannerUnavailableError(EngineError):
    """The virus scanner could not be asked: uploads are refused until it answers."""

    code = "scanner_unavailable"

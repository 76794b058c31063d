"""Workflow: pathway definitions and the runtime that runs one case on SpiffWorkflow.

Reading and checking a definition (definitions, validation, sensitivity, BPMN parsing),
running a case's workflow (runner, state, joins, forms, expressions in the sandbox, the clock
and its timers) and the one transaction template every case command runs in (case_runtime,
live_cases). Imports only the kernel (engine.errors, engine.model, engine.ports, ...).
This __init__ is the package's public surface for web/ and adapters/.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.workflow.clock import SystemClock, current_time, monotonic_times, parse_timestamp
    from engine.workflow.definitions import (
        ROLES_SUFFIX,
        FileReference,
        ParsedDefinition,
        check_file_references,
        file_name_problem,
        refused_reference,
    )
    from engine.workflow.forms import (
        COMPUTED,
        REQUIRED_WHEN,
        condition_in_words,
        validate_submission,
    )
    from engine.workflow.validation import check_offline

# Each name loads its module on first use: the clock (what storage reads the time by) loads
# without SpiffWorkflow, so a command that only reads the database does not load it.
_CLOCK = frozenset({"SystemClock", "current_time", "monotonic_times", "parse_timestamp"})
_DEFINITIONS = frozenset({"ROLES_SUFFIX", "FileReference", "ParsedDefinition",
                          "check_file_references", "file_name_problem", "refused_reference"})
_FORMS = frozenset({"COMPUTED", "REQUIRED_WHEN", "condition_in_words", "validate_submission"})


def __getattr__(name: str) -> Any:
    module: ModuleType
    if name in _CLOCK:
        from engine.workflow import clock as module
    elif name in _DEFINITIONS:
        from engine.workflow import definitions as module
    elif name in _FORMS:
        from engine.workflow import forms as module
    elif name == "check_offline":
        from engine.workflow import validation as module
    else:
        raise AttributeError(f"module 'engine.workflow' has no attribute {name!r}")
    return getattr(module, name)


__all__ = [
    "COMPUTED",
    "REQUIRED_WHEN",
    "ROLES_SUFFIX",
    "FileReference",
    "ParsedDefinition",
    "SystemClock",
    "check_file_references",
    "check_offline",
    "condition_in_words",
    "current_time",
    "file_name_problem",
    "monotonic_times",
    "parse_timestamp",
    "refused_reference",
    "validate_submission",
]

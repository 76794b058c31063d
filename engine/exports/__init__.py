"""Exports: a programme's records for other tools, pure builders without I/O: CSV tables
(engine.exports.tables; case notes, engine.exports.notes), XES event logs
(engine.exports.xes) and the INDIGO project document (engine.exports.indigo), redacted by
access.privacy. Reads outcomes and access only.
This __init__ is the package's public surface.
"""

from engine.exports.event_labels import TASK_EVENTS, decision_branch, event_name, task_instance
from engine.exports.indigo import (
    SOURCE_TYPE,
    OutcomeTally,
    ProgrammePathway,
    indigo_project,
    positive_outcomes,
    tally_outcomes,
)
from engine.exports.notes import (
    NOTE_COLUMNS,
    notes_csv,
    notes_csv_chunks,
    redact_note,
    redact_notes,
)
from engine.exports.tables import (
    CASE_COLUMNS,
    DATA_PREFIX,
    EVENT_COLUMNS,
    NOTES_COLUMN,
    TASK_COLUMNS,
    case_data_keys,
    cases_csv,
    cases_csv_chunks,
    counted_cases_csv_chunks,
    events_csv,
    events_csv_chunks,
    flatten,
    redact,
    redact_case,
    tasks_csv,
)
from engine.exports.xes import (
    LIFECYCLE_TRANSITIONS,
    XES_EXTENSIONS,
    XES_NAMESPACE,
    XES_VERSION,
    step_titles,
    to_xes,
    xes_chunks,
    xes_timestamp,
)

__all__ = [
    "CASE_COLUMNS",
    "DATA_PREFIX",
    "EVENT_COLUMNS",
    "LIFECYCLE_TRANSITIONS",
    "NOTES_COLUMN",
    "NOTE_COLUMNS",
    "SOURCE_TYPE",
    "TASK_COLUMNS",
    "TASK_EVENTS",
    "XES_EXTENSIONS",
    "XES_NAMESPACE",
    "XES_VERSION",
    "OutcomeTally",
    "ProgrammePathway",
    "case_data_keys",
    "cases_csv",
    "cases_csv_chunks",
    "counted_cases_csv_chunks",
    "decision_branch",
    "event_name",
    "events_csv",
    "events_csv_chunks",
    "flatten",
    "indigo_project",
    "notes_csv",
    "notes_csv_chunks",
    "positive_outcomes",
    "redact",
    "redact_case",
    "redact_note",
    "redact_notes",
    "step_titles",
    "tally_outcomes",
    "task_instance",
    "tasks_csv",
    "to_xes",
    "xes_chunks",
    "xes_timestamp",
]

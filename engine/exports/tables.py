"""Exports of a programme's records for other tools: pure builders, no I/O.

- `to_xes` (engine.exports.xes): the event log as an XES document (IEEE Std 1849-2016, XML
  serialization) for process-mining tools (ProM, Disco, pm4py, Celonis, ...): one trace per
  case, one event per recorded event.
- `cases_csv` / `tasks_csv` / `events_csv`: the cases, the open inbox tasks, and the event
  log (with the branch each decision took) as CSV (header row, stable column order; the
  caller writes the text as UTF-8).
- `indigo_project` (engine.exports.indigo): the programme as a project document of the INDIGO impact
  bond data standard (Government Outcomes Lab, University of Oxford; schema
  `schema/project.json` of INDIGO-Initiative/indigo-data-standard), built from what Pathways
  records.

The callers (the CLI, the web) gather the records through `Engine` and write the result;
unless a full export is asked for, they pass them through `redact` first. Every builder is
importable from the package (engine.exports), its public surface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from engine.access.privacy import Redactor
from engine.csvout import csv_chunks, csv_text
from engine.exports.event_labels import decision_branch, task_instance
from engine.model import CaseRecord, Event, InboxTask

# -- CSV -------------------------------------------------------------------------------------

CASE_COLUMNS: tuple[str, ...] = ("id", "pathway", "version", "client", "status", "created_at",
                                 "updated_at", "exit_reason")
TASK_COLUMNS: tuple[str, ...] = ("task", "case", "client", "pathway", "version", "waiting_for",
                                 "title", "role", "assignee", "due", "created_at")
EVENT_COLUMNS: tuple[str, ...] = ("case", "pathway", "version", "client", "seq", "at", "type",
                                  "step", "actor", "outcome", "gateway", "branch",
                                  "branch_flow", "task")
DATA_PREFIX = "data."
NOTES_COLUMN = "notes"  # export cases' last column: the case notes about the case (a count)
# Every cell goes through engine.csvout, the one CSV writer (formula text neutralised).


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys ({"a": {"b": 1}} -> {"a.b": 1}); lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return csv_text(header, rows)


def cases_csv(cases: Iterable[CaseRecord], note_counts: Mapping[int, int] | None = None
              ) -> str:
    """Cases as CSV: CASE_COLUMNS, then one `data.<path>` column per key found in any case's
    data (nested objects flattened, lists as JSON), sorted. `exit_reason` is the reason of the
    end the case reached; a form answer of that name is the column `data.exit_reason`. With
    note_counts (case id -> notes about it), a last column `notes` (NOTES_COLUMN)."""
    records = list(cases)
    keys = case_data_keys(records)
    if note_counts is None:
        return "".join(cases_csv_chunks(records, keys))
    return "".join(counted_cases_csv_chunks(
        ((c, note_counts.get(c.id or 0, 0)) for c in records), keys))


def case_data_keys(cases: Iterable[CaseRecord]) -> list[str]:
    """The flattened data keys found in any of the cases, sorted: cases_csv's data columns."""
    return sorted({key for c in cases for key in flatten(c.data)})


def _case_row(c: CaseRecord, data_keys: Sequence[str]) -> list[Any]:
    values = flatten(c.data)
    return [c.id, c.pathway, c.version, c.client_id, c.status, c.created_at, c.updated_at,
            c.exit_reason, *(values.get(key) for key in data_keys)]


def cases_csv_chunks(cases: Iterable[CaseRecord], data_keys: Sequence[str]) -> Iterator[str]:
    """cases_csv as it comes, with the data columns given (case_data_keys of the same cases,
    read in a pass before): the text of a batch of rows at a time, in constant memory."""
    header = [*CASE_COLUMNS, *(DATA_PREFIX + key for key in data_keys)]
    return csv_chunks(header, (_case_row(c, data_keys) for c in cases))


def counted_cases_csv_chunks(cases: Iterable[tuple[CaseRecord, int]],
                             data_keys: Sequence[str]) -> Iterator[str]:
    """cases_csv_chunks of each case with how many notes are about it, in a last column
    `notes` (after the data columns: the columns before keep their places)."""
    header = [*CASE_COLUMNS, *(DATA_PREFIX + key for key in data_keys), NOTES_COLUMN]
    return csv_chunks(header, ([*_case_row(c, data_keys), notes] for c, notes in cases))


def events_csv(cases: Iterable[CaseRecord], events_by_case: Mapping[int, Sequence[Event]]
               ) -> str:
    """The event log as CSV (EVENT_COLUMNS), a row per event, cases in the order given: the
    same events as the XES log, for tools that read tables. A decision names its `gateway`
    and the `branch` it took (and the sequence flow, `branch_flow`); an outcome its
    `outcome`; an event about a task (ready, started, completed) its `task` id. Like the
    XES log it carries no form data."""
    return "".join(events_csv_chunks((c, events_by_case.get(c.id, ())) for c in cases
                                     if c.id is not None))


def events_csv_chunks(cases: Iterable[tuple[CaseRecord, Sequence[Event]]]) -> Iterator[str]:
    """events_csv as it comes, from each case with its events: the text of a batch of rows
    at a time, in constant memory."""
    rows = ([c.id, c.pathway, c.version, c.client_id, e.seq, e.at, e.type, e.step, e.actor,
             e.data.get("outcome") if e.type == "outcome_recorded" else None,
             *(decision_branch(e) if e.type == "decision" else ("", "", "")),
             task_instance(e)]
            for c, events in cases for e in events)
    return csv_chunks(EVENT_COLUMNS, rows)


def tasks_csv(tasks: Iterable[InboxTask], clients: Mapping[int, int] | None = None) -> str:
    """Open inbox tasks as CSV (TASK_COLUMNS): `waiting_for` is the step the case waits at;
    `client` comes from `clients` (case id -> client id) when given."""
    clients = clients or {}
    rows = (
        [t.id, t.case_id, clients.get(t.case_id), t.pathway,
         t.version, t.step, t.title, t.role, t.assignee,
         t.due, t.created_at]
        for t in tasks)
    return _csv_text(TASK_COLUMNS, rows)


# -- redaction -------------------------------------------------------------------------------


def redact(redactor: Redactor, cases: Iterable[CaseRecord],
           events_by_case: Mapping[int, Sequence[Event]]
           ) -> tuple[list[CaseRecord], dict[int, list[Event]]]:
    """What a redacted export carries (engine.access.privacy, for a viewer who sees no sensitive
    category when built with visible=frozenset()): no case of a sensitive pathway, no event
    about a sensitive step, gateway or referral, case and event data without the fields
    that would tell. The default of every export but the subject access export."""
    kept: list[CaseRecord] = []
    events: dict[int, list[Event]] = {}
    for case in cases:
        if case.id is None:
            continue
        redacted = redact_case(redactor, case, events_by_case.get(case.id, ()))
        if redacted is not None:
            kept.append(redacted[0])
            events[case.id] = redacted[1]
    return kept, events


def redact_case(redactor: Redactor, case: CaseRecord, events: Sequence[Event]
                ) -> tuple[CaseRecord, list[Event]] | None:
    """One case and its events as `redact` gives them; None when the case is left out."""
    shown = redactor.case(case)
    if shown is None:
        return None
    return shown, redactor.events(case, events)

"""Exports of a programme's records for other tools: pure builders, no I/O.

- `to_xes`: the event log as an XES document (IEEE Std 1849-2016, XML serialization) for
  process-mining tools (ProM, Disco, pm4py, Celonis, ...): one trace per case, one event per
  recorded event.
- `cases_csv` / `tasks_csv` / `events_csv`: the cases, the open inbox tasks, and the event
  log (with the branch each decision took) as CSV (header row, stable column order; the
  caller writes the text as UTF-8).
- `indigo_project`: the programme as a project document of the INDIGO impact bond data
  standard (Government Outcomes Lab, University of Oxford; schema `schema/project.json` of
  INDIGO-Initiative/indigo-data-standard), built from what Pathways records.

The callers (the CLI, the web) gather the records through `Engine` and write the result;
unless a full export is asked for, they pass them through `redact` first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.csvout import csv_text
from engine.errors import InvalidArgumentError
from engine.model import CaseRecord, Event, InboxTask
from engine.outcomes import DIRECTIONS
from engine.privacy import Redactor

# -- XES -------------------------------------------------------------------------------------

XES_NAMESPACE = "http://www.xes-standard.org/"
XES_VERSION = "1849-2016"
# (name, prefix, uri) of the standard extensions the log uses (IEEE 1849-2016, clause 7)
XES_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)

# Event type -> lifecycle:transition of the standard lifecycle model. A task becoming ready
# is "schedule" (it waits in an inbox: it is not being worked yet), its first claim or
# draft "start" (task_started), its completion "complete"; a timer is scheduled and fires
# ("complete"); an error aborts the step it happened in ("ate_abort"), a cancellation the
# whole case ("pi_abort"), and a retry resumes it ("resume"). Every other recorded event
# (case_started, decision, message_*, signal_*, outcome_recorded, referral_made,
# notification_requested, client_updated, version_allocated, case_completed, case_migrated,
# migration_reverted) is instantaneous and written as "complete". An event type not known
# here is "unknown".
LIFECYCLE_TRANSITIONS: dict[str, str] = {
    "task_ready": "schedule",
    "task_started": "start",
    "task_completed": "complete",
    "timer_scheduled": "schedule",
    "timer_fired": "complete",
    "error": "ate_abort",
    "case_cancelled": "pi_abort",
    "case_retried": "resume",
    "case_started": "complete",
    "decision": "complete",
    "message_sent": "complete",
    "message_received": "complete",
    "signal_sent": "complete",
    "signal_received": "complete",
    "outcome_recorded": "complete",
    "notification_requested": "complete",
    "referral_made": "complete",
    "client_updated": "complete",
    "version_allocated": "complete",
    "case_completed": "complete",
    "case_migrated": "complete",
    "migration_reverted": "complete",
}

# Characters XML 1.0 does not allow anywhere (C0 controls but tab, LF and CR; lone
# surrogates; U+FFFE and U+FFFF): ElementTree would write them as they are, giving a
# document no parser accepts. They become U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def xes_timestamp(at: datetime) -> str:
    """An xs:dateTime with its time zone (a naive time is taken as UTC), to milliseconds."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.isoformat(timespec="milliseconds")


def _tag(name: str) -> str:
    # Unqualified: the log element declares XES_NAMESPACE as the default namespace (ET's
    # default_namespace option refuses the unqualified key/value attributes XES uses).
    return name


def _attribute(parent: ET.Element, kind: str, key: str, value: str) -> ET.Element:
    return ET.SubElement(parent, _tag(kind), {"key": key, "value": _xml_text(value)})


def event_name(event: Event) -> str:
    """The activity an event is about: its step, else its type (an outcome event without
    a step: the outcome)."""
    if event.step:
        return event.step
    if event.type == "outcome_recorded" and event.data.get("outcome"):
        return str(event.data["outcome"])
    return event.type


def decision_branch(event: Event) -> tuple[str, str, str]:
    """(gateway, branch, flow ids) of a `decision` event: the branch is the taken flow's name,
    else the name or id of the step it leads to; several (an inclusive gateway) are joined
    by " | ". Decisions recorded before flows were named fall back to their targets."""
    data = event.data
    labels = data.get("branches") or data.get("taken_names") or data.get("taken") or []
    flows = data.get("flows") or []
    return (str(data.get("gateway") or event.step or ""), " | ".join(map(str, labels)),
            " | ".join(map(str, flows)))


TASK_EVENTS = frozenset({"task_ready", "task_started", "task_completed"})


def task_instance(event: Event) -> str | None:
    """The task id of a task's event (ready, started, completed): the activity instance
    those events share, so a tool pairs a task's schedule, start and complete."""
    task = event.data.get("task") if event.type in TASK_EVENTS else None
    return str(task) if task else None


_MILLISECOND = timedelta(milliseconds=1)


def _to_millisecond(at: datetime) -> datetime:
    """The time as XES writes it: with a time zone (naive: UTC), to the millisecond."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _allocation(events: Sequence[Event]) -> dict[str, Any]:
    """What the case's version_allocated event recorded ({} when it has none)."""
    for event in events:
        if event.type == "version_allocated":
            return dict(event.data)
    return {}


def step_titles(spec: Any, subprocess_specs: Mapping[str, Any]) -> dict[str, str]:
    """Step id -> title (the BPMN element's name) of a parsed version's processes: what the
    XES export names activities by."""
    titles: dict[str, str] = {}
    for process in (spec, *subprocess_specs.values()):
        for key, task_spec in getattr(process, "task_specs", {}).items():
            step = getattr(task_spec, "bpmn_id", None) or key
            title = getattr(task_spec, "bpmn_name", None)
            if isinstance(step, str) and isinstance(title, str) and title.strip():
                titles.setdefault(step, title)
    return titles


def to_xes(cases: Iterable[CaseRecord], events_by_case: Mapping[int, Sequence[Event]], *,
           name: str = "Pathways event log",
           step_titles: Mapping[tuple[str, int], Mapping[str, str]] | None = None) -> str:
    """The event log as an XES 1849-2016 XML document (UTF-8 declared).

    One <trace> per case (concept:name = the case id; pathway, version, client and status as
    plain attributes; `allocation_policy` (and `allocation_policy_id`) from its
    version_allocated event, and `arm`, the version drawn, when a randomised split allocated
    it), one <event> per recorded event in log order, with concept:name (the step's title
    in the case's version, from `step_titles` keyed by (pathway, version), else
    `event_name`), `step` (the step id, when the event is about one), concept:instance (the
    task id, on a task's ready/started/completed events), time:timestamp,
    lifecycle:transition (LIFECYCLE_TRANSITIONS), org:resource (the actor, when there is
    one), and the event's type and seq; a decision also has `gateway`, `branch` (the branch
    taken, `decision_branch`) and `branch_flow` (the sequence flow id). Form data is not
    exported: the log may go to analysts who should not see clients' answers.

    Times are strictly increasing within a trace (process-mining tools order by time): an
    event recorded in the same millisecond as the one before it, or earlier (a clock that
    went back), is written one millisecond after it, with the time it was recorded with as
    `recorded_time`. The log's order (seq) is the truth.
    """
    log = ET.Element(_tag("log"), {"xes.version": XES_VERSION,
                                   "xes.features": "nested-attributes",
                                   "xmlns": XES_NAMESPACE})
    for ext_name, prefix, uri in XES_EXTENSIONS:
        ET.SubElement(log, _tag("extension"), {"name": ext_name, "prefix": prefix, "uri": uri})
    # globals: attributes every trace / event has, with their default values
    trace_globals = ET.SubElement(log, _tag("global"), {"scope": "trace"})
    _attribute(trace_globals, "string", "concept:name", "__INVALID__")
    event_globals = ET.SubElement(log, _tag("global"), {"scope": "event"})
    _attribute(event_globals, "string", "concept:name", "__INVALID__")
    _attribute(event_globals, "date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
    _attribute(event_globals, "string", "lifecycle:transition", "complete")
    ET.SubElement(log, _tag("classifier"), {"name": "Activity", "keys": "concept:name"})
    ET.SubElement(log, _tag("classifier"), {"name": "Activity_and_transition",
                                            "keys": "concept:name lifecycle:transition"})
    _attribute(log, "string", "concept:name", name)
    _attribute(log, "string", "lifecycle:model", "standard")
    for case in cases:
        if case.id is None:
            continue
        trace = ET.SubElement(log, _tag("trace"))
        _attribute(trace, "string", "concept:name", str(case.id))
        _attribute(trace, "string", "pathway", case.pathway)
        _attribute(trace, "int", "version", str(case.version))
        _attribute(trace, "string", "client", str(case.client_id))
        _attribute(trace, "string", "status", case.status)
        # the log's order (seq) is the truth, and the tie-break: whatever order they came in
        case_events = sorted(events_by_case.get(case.id, ()), key=lambda e: e.seq)
        allocation = _allocation(case_events)
        if allocation.get("policy"):
            _attribute(trace, "string", "allocation_policy", str(allocation["policy"]))
            if allocation.get("policy_id") is not None:
                _attribute(trace, "string", "allocation_policy_id",
                           str(allocation["policy_id"]))
            if allocation["policy"] == "split" and allocation.get("version") is not None:
                _attribute(trace, "string", "arm", str(allocation["version"]))
        titles = (step_titles or {}).get((case.pathway, case.version), {})
        previous: datetime | None = None
        for event in case_events:
            element = ET.SubElement(trace, _tag("event"))
            _attribute(element, "string", "concept:name",
                       (titles.get(event.step) if event.step else None)
                       or event_name(event))
            at = _to_millisecond(event.at)
            moved = previous is not None and at <= previous
            if previous is not None and moved:
                at = previous + _MILLISECOND
            previous = at
            _attribute(element, "date", "time:timestamp", xes_timestamp(at))
            if moved:
                _attribute(element, "date", "recorded_time", xes_timestamp(event.at))
            _attribute(element, "string", "lifecycle:transition",
                       LIFECYCLE_TRANSITIONS.get(event.type, "unknown"))
            if event.actor:
                _attribute(element, "string", "org:resource", event.actor)
            if event.step:
                _attribute(element, "string", "step", event.step)
            if instance := task_instance(event):
                _attribute(element, "string", "concept:instance", instance)
            _attribute(element, "string", "event_type", event.type)
            _attribute(element, "int", "seq", str(event.seq))
            if event.type == "outcome_recorded" and event.data.get("outcome"):
                _attribute(element, "string", "outcome", str(event.data["outcome"]))
            if event.type == "decision":
                gateway, branch, flow = decision_branch(event)
                _attribute(element, "string", "gateway", gateway)
                _attribute(element, "string", "branch", branch)
                if flow:
                    _attribute(element, "string", "branch_flow", flow)
    ET.indent(log)
    return ET.tostring(log, encoding="unicode", xml_declaration=True) + "\n"


# -- CSV -------------------------------------------------------------------------------------

CASE_COLUMNS: tuple[str, ...] = ("id", "pathway", "version", "client", "status", "created_at",
                                 "updated_at", "exit_reason")
TASK_COLUMNS: tuple[str, ...] = ("task", "case", "client", "pathway", "version", "waiting_for",
                                 "title", "role", "assignee", "due", "created_at")
EVENT_COLUMNS: tuple[str, ...] = ("case", "pathway", "version", "client", "seq", "at", "type",
                                  "step", "actor", "outcome", "gateway", "branch",
                                  "branch_flow", "task")
DATA_PREFIX = "data."
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


def cases_csv(cases: Iterable[CaseRecord]) -> str:
    """Cases as CSV: CASE_COLUMNS, then one `data.<path>` column per key found in any case's
    data (nested objects flattened, lists as JSON), sorted. `exit_reason` is the reason of the
    end the case reached; a form answer of that name is the column `data.exit_reason`."""
    records = list(cases)
    flat = [flatten(c.data) for c in records]
    data_keys = sorted({key for row in flat for key in row})
    header = [*CASE_COLUMNS, *(DATA_PREFIX + key for key in data_keys)]
    rows = (
        [c.id, c.pathway, c.version, c.client_id, c.status,
         c.created_at, c.updated_at, c.exit_reason,
         *(values.get(key) for key in data_keys)]
        for c, values in zip(records, flat, strict=True))
    return _csv_text(header, rows)


def events_csv(cases: Iterable[CaseRecord], events_by_case: Mapping[int, Sequence[Event]]
               ) -> str:
    """The event log as CSV (EVENT_COLUMNS), a row per event, cases in the order given: the
    same events as the XES log, for tools that read tables. A decision names its `gateway`
    and the `branch` it took (and the sequence flow, `branch_flow`); an outcome its
    `outcome`; an event about a task (ready, started, completed) its `task` id. Like the
    XES log it carries no form data."""
    rows = []
    for c in cases:
        if c.id is None:
            continue
        for e in events_by_case.get(c.id, ()):
            gateway, branch, flow = decision_branch(e) if e.type == "decision" else ("", "", "")
            outcome = e.data.get("outcome") if e.type == "outcome_recorded" else None
            rows.append([c.id, c.pathway, c.version, c.client_id, e.seq, e.at, e.type, e.step,
                         e.actor, outcome, gateway, branch, flow, task_instance(e)])
    return _csv_text(EVENT_COLUMNS, rows)


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


# -- INDIGO ------------------------------------------------------------------------------------

# INDIGO's code list for sources[].type (schema/project.json): Contract, Report, Award Notice,
# Website, News piece, Press release, Email correspondence, Evaluation report.
SOURCE_TYPE = "Report"

# The project schema's "status"-free value objects: {"value": ...}
# (definitions object_with_value_string / _number / _date of project.json).


def _value(value: Any) -> dict[str, Any]:
    return {"value": value}


def _day(at: datetime | date) -> str:
    """An INDIGO date (YYYY-MM-DD; the schema also allows YYYY and YYYY-MM)."""
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return at.isoformat()


@dataclass(frozen=True)
class ProgrammePathway:
    """What the INDIGO document says of one pathway (its latest version)."""

    pathway: str
    version: int
    title: str = ""
    owner: str | None = None  # the organisation that owns it
    organisations: tuple[str, ...] = ()  # organisations named for its roles


@dataclass
class OutcomeTally:
    """One outcome metric: the outcome events recorded for it, and the clients for whom it
    was achieved (a recorded value that is true, a number above 0 or non-empty text)."""

    outcome: str
    steps: set[str] = field(default_factory=set)
    pathways: set[str] = field(default_factory=set)
    events: int = 0
    achieved_by: set[int] = field(default_factory=set)
    # clients with a value recorded (not a failed recording): who it is known about
    recorded_for: set[int] = field(default_factory=set)


def _achieved(event: Event) -> bool:
    if event.data.get("problem"):
        return False
    value = event.data.get("value")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return bool(value)


def tally_outcomes(cases: Iterable[CaseRecord], events_by_case: Mapping[int, Sequence[Event]]
                   ) -> list[OutcomeTally]:
    """The outcome_recorded events of the cases, by outcome, sorted by outcome."""
    tallies: dict[str, OutcomeTally] = {}
    for case in cases:
        for event in events_by_case.get(case.id, ()) if case.id is not None else ():
            outcome = event.data.get("outcome") if event.type == "outcome_recorded" else None
            if not outcome:
                continue
            tally = tallies.setdefault(str(outcome), OutcomeTally(str(outcome)))
            tally.events += 1
            tally.pathways.add(case.pathway)
            if event.step:
                tally.steps.add(event.step)
            if not event.data.get("problem"):
                tally.recorded_for.add(case.client_id)
            if _achieved(event):
                tally.achieved_by.add(case.client_id)
    return [tallies[key] for key in sorted(tallies)]


def positive_outcomes(tally: OutcomeTally, direction: str) -> set[int]:
    """The clients with a positive social outcome: those who achieved it when more is better;
    when fewer is better (reconvicted), those it is recorded for who did not have it. A
    failed recording tells neither."""
    if direction == "lower_is_better":
        return tally.recorded_for - tally.achieved_by
    return set(tally.achieved_by)


def indigo_project(*, name: str, pathways: Sequence[ProgrammePathway],
                   cases: Sequence[CaseRecord], events_by_case: Mapping[int, Sequence[Event]],
                   as_of: datetime, organisation_names: Mapping[str, str] | None = None,
                   directions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The programme as an INDIGO project document (JSON-ready), field names and shapes as in
    the standard's project.json: name; stage_development (Implementation once a case
    exists); dates.start_date_of_service_provision (the first case's day);
    purpose_and_classifications.intervention (the pathways); service_and_beneficiaries
    (actual number of unique clients with a case, unit type Individual); service_provisions
    (one per pathway and organisation taking part); outcome_metrics (one per outcome kind
    recorded); results (per outcome: clients engaged, clients with the outcome achieved, over
    the period from the first case to as_of, Interim); sources (this export).

    `directions` maps an outcome to "higher_is_better" (the default) or "lower_is_better",
    as the programme's outcome measures configure it (engine.outcomes.OutcomeMeasure): the
    positive social outcomes of a lower-is-better outcome (reconvicted) are the clients it
    is recorded for who did not have it (`positive_outcomes`).

    Organisation ids are Pathways' own: INDIGO identifiers (INDIGO-ORG-...) are assigned by
    the INDIGO project and are not known here. Money (outcome payments, investment) is not
    recorded by Pathways and is left out.
    """
    names = organisation_names or {}
    directions = dict(directions or {})
    for outcome, direction in directions.items():
        if direction not in DIRECTIONS:
            raise InvalidArgumentError(
                f"outcome {outcome!r}: direction must be one of {', '.join(DIRECTIONS)}",
                details={"fields": {"directions": [outcome]}})
    clients = {c.client_id for c in cases}
    first = min((c.created_at for c in cases if c.created_at is not None), default=None)
    period: dict[str, Any] = {"end_date": _value(_day(as_of))}
    if first is not None:
        period = {"start_date": _value(_day(first)), **period}
    project: dict[str, Any] = {"name": _value(name)}
    if cases:
        project["stage_development"] = _value("Implementation")
    if first is not None:
        project["dates"] = {"start_date_of_service_provision": _value(_day(first))}
    if pathways:
        project["purpose_and_classifications"] = {"intervention": _value("; ".join(
            f"{p.title or p.pathway} ({p.pathway} v{p.version})" for p in pathways))}
    project["service_and_beneficiaries"] = {
        "actual_number_service_users_or_beneficiaries_total": _value(len(clients)),
        "unit_type_actual_service_users_or_beneficiaries": _value("Individual"),
    }
    provisions = []
    for p in pathways:
        pathway_cases = [c.created_at for c in cases
                         if c.pathway == p.pathway and c.created_at is not None]
        started = min(pathway_cases, default=None)
        for org in dict.fromkeys([*([p.owner] if p.owner else []), *p.organisations]):
            provision: dict[str, Any] = {
                "id": f"{p.pathway}/{org}", "organisation_id": _value(org),
                "intervention": _value(p.title or p.pathway),
            }
            if started is not None:
                provision["actual_service"] = {"start_date": _value(_day(started))}
            if org in names:
                provision["notes"] = f"Organisation: {names[org]}"
            provisions.append(provision)
    if provisions:
        project["service_provisions"] = provisions
    tallies = tally_outcomes(cases, events_by_case)
    if tallies:
        project["outcome_metrics"] = [{
            "id": t.outcome,
            "definition": _value(
                f"Outcome '{t.outcome}' as recorded by the step(s) "
                f"{', '.join(sorted(t.steps)) or '-'} of pathway(s) "
                f"{', '.join(sorted(t.pathways))}; it happened when the recorded value is "
                f"true, a number above 0 or non-empty text. "
                + ("Lower is better: a positive social outcome is a client it is recorded "
                   "for who did not have it."
                   if directions.get(t.outcome) == "lower_is_better" else
                   "Higher is better: a positive social outcome is a client who had it.")),
            "outcome_validation_method": _value("Simple ex-post verification"),
            "data_source_for_outcome_validation": _value("Pathways case records (event log)"),
        } for t in tallies]
        project["results"] = [{
            "outcome_metric_id": _value(t.outcome),
            "result_level": _value("Outcome level"),
            "result_type": _value("Interim"),
            "period": period,
            "number_engaged_in_impact_bond": _value(len(clients)),
            "number_with_positive_social_outcomes": _value(len(positive_outcomes(
                t, directions.get(t.outcome, "higher_is_better")))),
            "notes": f"{t.events} outcome event(s) recorded; it happened to "
                     f"{len(t.achieved_by)} of the {len(t.recorded_for)} client(s) it is "
                     f"recorded for.",
        } for t in tallies]
    project["sources"] = [{
        "id": "pathways",
        "name": _value("Pathways case management records"),
        # a value of the standard's code list for a source's type: this export is a report
        # drawn from the programme's case records
        "type": _value(SOURCE_TYPE),
        "accessed_date": _value(_day(as_of)),
    }]
    return project


# -- redaction -------------------------------------------------------------------------------


def redact(redactor: Redactor, cases: Iterable[CaseRecord],
           events_by_case: Mapping[int, Sequence[Event]]
           ) -> tuple[list[CaseRecord], dict[int, list[Event]]]:
    """What a redacted export carries (engine.privacy, for a viewer who sees no sensitive
    category when built with visible=frozenset()): no case of a sensitive pathway, no event
    about a sensitive step, gateway or referral, case and event data without the fields
    that would tell. The default of every export but the subject access export."""
    kept: list[CaseRecord] = []
    events: dict[int, list[Event]] = {}
    for case in cases:
        shown = redactor.case(case)
        if shown is None or case.id is None:
            continue
        kept.append(shown)
        events[case.id] = redactor.events(case, events_by_case.get(case.id, ()))
    return kept, events

"""The event log as an XES document (IEEE Std 1849-2016, XML serialization) for
process-mining tools (ProM, Disco, pm4py, Celonis, ...): one trace per case, one event per
recorded event. Pure: the caller writes the text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.exports.event_labels import decision_branch, event_name, task_instance
from engine.model import CaseRecord, Event

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
    "notification_failed": "complete",
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

_MILLISECOND = timedelta(milliseconds=1)


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
    return "".join(xes_chunks(((c, events_by_case.get(c.id, ())) for c in cases
                               if c.id is not None), name=name, step_titles=step_titles))


def xes_chunks(cases: Iterable[tuple[CaseRecord, Sequence[Event]]], *,
               name: str = "Pathways event log",
               step_titles: Mapping[tuple[str, int], Mapping[str, str]] | None = None
               ) -> Iterator[str]:
    """to_xes as it comes, from each case with its events: the log's head, then a trace at a
    time (each built, written and dropped), then its end; the same text as to_xes."""
    log = _log(name)
    ET.indent(log)
    head = ET.tostring(log, encoding="unicode", xml_declaration=True)
    yield head[:-len("</log>")]
    for case, events in cases:
        # the log's order (seq) is the truth, and the tie-break: whatever order they came in
        case_events = sorted(events, key=lambda e: e.seq)
        holder = ET.Element("holder")
        trace = _trace(holder, case, case_events)
        titles = ({} if step_titles is None else step_titles).get(
            (case.pathway, case.version), {})
        previous: datetime | None = None
        for event in case_events:
            previous = _event(trace, event, titles, previous)
        ET.indent(trace, level=1)
        yield "  " + ET.tostring(trace, encoding="unicode") + "\n"
    yield "</log>\n"


def _log(name: str) -> ET.Element:
    """The log element: extensions, globals (what every trace and event has, with their
    defaults), classifiers and the log's own attributes."""
    log = ET.Element(_tag("log"), {"xes.version": XES_VERSION,
                                   "xes.features": "nested-attributes",
                                   "xmlns": XES_NAMESPACE})
    for ext_name, prefix, uri in XES_EXTENSIONS:
        ET.SubElement(log, _tag("extension"), {"name": ext_name, "prefix": prefix, "uri": uri})
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
    return log


def _trace(log: ET.Element, case: CaseRecord, case_events: Sequence[Event]) -> ET.Element:
    """A case's trace element with the case's attributes and how its version was chosen."""
    trace = ET.SubElement(log, _tag("trace"))
    _attribute(trace, "string", "concept:name", str(case.id))
    _attribute(trace, "string", "pathway", case.pathway)
    _attribute(trace, "int", "version", str(case.version))
    _attribute(trace, "string", "client", str(case.client_id))
    _attribute(trace, "string", "status", case.status)
    allocation = _allocation(case_events)
    if allocation.get("policy"):
        _attribute(trace, "string", "allocation_policy", str(allocation["policy"]))
        if allocation.get("policy_id") is not None:
            _attribute(trace, "string", "allocation_policy_id", str(allocation["policy_id"]))
        if allocation["policy"] == "split" and allocation.get("version") is not None:
            _attribute(trace, "string", "arm", str(allocation["version"]))
    return trace


def _event(trace: ET.Element, event: Event, titles: Mapping[str, str],
           previous: datetime | None) -> datetime:
    """An event element; returns the time written, which the next event must be after."""
    element = ET.SubElement(trace, _tag("event"))
    _attribute(element, "string", "concept:name",
               (titles.get(event.step) if event.step else None) or event_name(event))
    at = _to_millisecond(event.at)
    moved = previous is not None and at <= previous
    if previous is not None and moved:
        at = previous + _MILLISECOND
    _attribute(element, "date", "time:timestamp", xes_timestamp(at))
    if moved:
        _attribute(element, "date", "recorded_time", xes_timestamp(event.at))
    _attribute(element, "string", "lifecycle:transition",
               LIFECYCLE_TRANSITIONS.get(event.type, "unknown"))
    _event_details(element, event)
    return at


def _event_details(element: ET.Element, event: Event) -> None:
    """Who, which step and task, the type and seq; an outcome's name, a decision's branch."""
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

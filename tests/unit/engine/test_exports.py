"""The export builders: XES event log, CSV of cases and tasks, INDIGO project document.

What is checked against what:
- XES: parsed back and checked against the content model of the IEEE 1849-2016 XML schema
  (element order in <log>, attribute elements with key and value, xs:dateTime values with
  a time zone, xs:long ints, NCName extension names and prefixes) by hand, here. The
  official XSD is not shipped by any package this project installs, so it is not in the
  repository; set PATHWAYS_XES_XSD to a local copy of it to validate against it too.
- INDIGO: validated with jsonschema against MINIMAL_INDIGO_SCHEMA below: the shapes of the
  fields Pathways fills, as the standard's schema/project.json defines them (draft-07), with
  their code lists read from tests/data/indigo_project_codelists.json (copied from the
  published schema; the file names the commit). Set PATHWAYS_INDIGO_SCHEMA to a local copy of
  that project.json to validate against the full schema too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.errors import InvalidArgumentError
from engine.exports import (
    CASE_COLUMNS,
    LIFECYCLE_TRANSITIONS,
    TASK_COLUMNS,
    XES_NAMESPACE,
    ProgrammePathway,
    cases_csv,
    indigo_project,
    tasks_csv,
    to_xes,
    xes_timestamp,
)
from engine.model import EVENT_TYPES, CaseRecord, Event, InboxTask

NS = {"x": XES_NAMESPACE}
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ODD = 'Amy <O\'Neil> & "co"\nline two\x01\ttab ☕'


def case(case_id: int, *, pathway: str = "referral", client: int = 7, status: str = "active",
         data: dict[str, Any] | None = None, exit_reason: str | None = None) -> CaseRecord:
    return CaseRecord(id=case_id, pathway=pathway, version=2, client_id=client,
                      status=status,  # type: ignore[arg-type]
                      state={}, data=data or {}, created_at=T0,
                      updated_at=T0 + timedelta(hours=1), exit_reason=exit_reason)


def event(case_id: int, seq: int, kind: str, *, step: str | None = None,
          actor: str | None = None, at: datetime = T0,
          data: dict[str, Any] | None = None) -> Event:
    return Event(case_id=case_id, seq=seq, type=kind, at=at, step=step, actor=actor,
                 data=data or {})


def attributes(element: ET.Element) -> dict[str, str]:
    """key -> value of an element's attribute children (string, date, int, ...)."""
    return {child.attrib["key"]: child.attrib["value"] for child in element
            if child.tag.removeprefix(f"{{{XES_NAMESPACE}}}")
            in ("string", "date", "int", "float", "boolean", "id")}


# -- XES ---------------------------------------------------------------------------------


def sample_log() -> tuple[list[CaseRecord], dict[int, list[Event]]]:
    cases = [case(1), case(2, pathway="family", client=8, status="completed")]
    events = {
        1: [event(1, 1, "case_started", actor="amy"),
            event(1, 2, "task_ready", step="intake", at=T0 + timedelta(seconds=1)),
            event(1, 3, "task_completed", step="intake", actor=ODD,
                  at=datetime(2026, 3, 1, 11, 40, 0, 123456,  # 09:40 UTC
                              tzinfo=timezone(timedelta(hours=2)))),
            event(1, 4, "outcome_recorded", step="engaged",
                  data={"outcome": "engaged", "value": True}),
            event(1, 5, "decision", step="gw_housing",
                  data={"gateway": "Needs housing?", "taken": ["refer_housing"],
                        "taken_names": ["Refer to housing"], "flows": ["flow_yes"],
                        "branches": ["needs housing"]})],
        2: [event(2, 1, "case_started", at=datetime(2026, 3, 2, 8, 0)),  # naive: UTC
            event(2, 2, "case_cancelled", actor="bob")],
    }
    return cases, events


XES_ATTRIBUTE_TAGS = {"string", "date", "int", "float", "boolean", "id", "list"}
LOG_ORDER = ["extension", "global", "classifier", "attribute", "trace", "event"]
NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def check_attribute(element: ET.Element) -> None:
    kind = element.tag.removeprefix(f"{{{XES_NAMESPACE}}}")
    assert kind in XES_ATTRIBUTE_TAGS, element.tag
    assert element.attrib.get("key"), element.attrib
    value = element.attrib["value"]
    if kind == "date":
        assert DATETIME.match(value), value  # xs:dateTime, and always with its time zone
        datetime.fromisoformat(value)
    elif kind == "int":
        assert -(2**63) <= int(value) < 2**63  # xs:long


def check_xes_structure(text: str) -> ET.Element:
    """The content model of the IEEE 1849-2016 XSD, checked on the parsed document."""
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output
    assert root.tag == f"{{{XES_NAMESPACE}}}log"
    assert root.attrib["xes.version"] == "1849-2016"
    seen: list[int] = []
    for child in root:
        local = child.tag.removeprefix(f"{{{XES_NAMESPACE}}}")
        section = "attribute" if local in XES_ATTRIBUTE_TAGS else local
        assert section in LOG_ORDER, child.tag
        seen.append(LOG_ORDER.index(section))
        if section == "extension":
            assert NCNAME.match(child.attrib["name"]) and NCNAME.match(child.attrib["prefix"])
            assert child.attrib["uri"].startswith("http://www.xes-standard.org/")
        elif section == "global":
            assert child.attrib["scope"] in ("trace", "event")
            for attribute in child:
                check_attribute(attribute)
        elif section == "classifier":
            assert NCNAME.match(child.attrib["name"]) and child.attrib["keys"].strip()
        elif section == "attribute":
            check_attribute(child)
        elif section == "trace":
            events_started = False
            for item in child:
                if item.tag == f"{{{XES_NAMESPACE}}}event":
                    events_started = True
                    for attribute in item:
                        check_attribute(attribute)
                else:
                    assert not events_started, "trace attributes come before its events"
                    check_attribute(item)
    assert seen == sorted(seen), "log children out of the schema's order"
    return root


def test_xes_document_has_a_trace_per_case_and_an_event_per_recorded_event() -> None:
    cases, events = sample_log()
    text = to_xes(cases, events)
    assert text.lower().startswith("<?xml version='1.0' encoding='utf-8'?>")
    root = check_xes_structure(text)
    prefixes = {e.attrib["prefix"] for e in root.findall("x:extension", NS)}
    assert prefixes == {"concept", "time", "lifecycle", "org"}
    traces = root.findall("x:trace", NS)
    assert [attributes(t)["concept:name"] for t in traces] == ["1", "2"]
    assert attributes(traces[0]) == {"concept:name": "1", "pathway": "referral",
                                     "version": "2", "client": "7", "status": "active"}
    first = [attributes(e) for e in traces[0].findall("x:event", NS)]
    assert [(e["concept:name"], e["lifecycle:transition"], e["seq"]) for e in first] == [
        ("case_started", "complete", "1"), ("intake", "schedule", "2"),
        ("intake", "complete", "3"), ("engaged", "complete", "4"),
        ("gw_housing", "complete", "5")]
    assert first[0]["org:resource"] == "amy"
    assert "org:resource" not in first[1]
    assert first[3]["outcome"] == "engaged"
    cancelled = attributes(traces[1].findall("x:event", NS)[1])
    assert cancelled["lifecycle:transition"] == "pi_abort"


def test_xes_escapes_odd_characters_and_keeps_them_readable() -> None:
    cases, events = sample_log()
    weird = case(3, pathway='p<&>"x')
    events[3] = [event(3, 1, "task_completed", step="a&b", actor=ODD)]
    text = to_xes([*cases, weird], events, name="Log \x00 & <co>")
    root = check_xes_structure(text)  # well-formed despite <, &, quotes, \n and \x01
    trace = root.findall("x:trace", NS)[2]
    assert attributes(trace)["pathway"] == 'p<&>"x'
    done = attributes(trace.find("x:event", NS))  # type: ignore[arg-type]
    assert done["concept:name"] == "a&b"
    # XML 1.0 cannot carry \x01: it becomes U+FFFD; newline and tab survive as &#10; / &#9;
    assert done["org:resource"] == ODD.replace("\x01", "\ufffd")
    assert attributes(root)["concept:name"] == "Log \ufffd & <co>"
    assert "\x01" not in text and "\x00" not in text


def test_xes_timestamps_carry_their_time_zone() -> None:
    cases, events = sample_log()
    root = check_xes_structure(to_xes(cases, events))
    stamps = [attributes(e)["time:timestamp"] for t in root.findall("x:trace", NS)
              for e in t.findall("x:event", NS)]
    assert stamps[0] == "2026-03-01T09:30:00.000+00:00"
    assert stamps[2] == "2026-03-01T11:40:00.123+02:00"  # the offset it was recorded with
    assert stamps[5] == "2026-03-02T08:00:00.000+00:00"  # naive: taken as UTC
    assert xes_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000+00:00"


def test_every_event_type_has_a_standard_lifecycle_transition() -> None:
    standard = {"schedule", "assign", "reassign", "start", "suspend", "resume", "autoskip",
                "manualskip", "withdraw", "complete", "ate_abort", "pi_abort", "unknown"}
    assert set(EVENT_TYPES) <= set(LIFECYCLE_TRANSITIONS)
    assert set(LIFECYCLE_TRANSITIONS.values()) <= standard


@pytest.mark.skipif(not os.environ.get("PATHWAYS_XES_XSD"),
                    reason="set PATHWAYS_XES_XSD to a local copy of the IEEE 1849-2016 XSD")
def test_xes_validates_against_the_official_schema() -> None:
    from lxml import etree

    schema_doc = etree.parse(os.environ["PATHWAYS_XES_XSD"])
    schema = etree.XMLSchema(schema_doc)
    cases, events = sample_log()
    doc = etree.fromstring(to_xes(cases, events).encode("utf-8"))
    if schema_doc.getroot().get("targetNamespace") is None:
        # the 2016 XSD declares no target namespace, while XES files (OpenXES, pm4py) use
        # xmlns="http://www.xes-standard.org/": compare without it
        for element in doc.iter():
            element.tag = etree.QName(element).localname
        etree.cleanup_namespaces(doc)
    schema.validate(doc)
    # The only difference allowed: the XSD types xes.version as xs:decimal, while
    # IEEE 1849-2016 logs (and pm4py) write xes.version="1849-2016".
    problems = [e.message for e in schema.error_log if "xes.version" not in e.message]
    assert not problems


# -- CSV ---------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_cases_csv_has_fixed_columns_then_sorted_flattened_data() -> None:
    rows = read_csv(cases_csv([
        case(1, data={"urgent": True, "needs": {"housing": "yes", "benefits": None},
                      "tags": ["a", "b"], "exit_reason": "moved_away"},
             exit_reason="completed"),
        case(2, data={"score": 3.5, "note": "=HYPERLINK(\"x\")", "name": "Zoë, \"Z\"\nR"}),
    ]))
    header = rows[0]
    assert tuple(header[:len(CASE_COLUMNS)]) == CASE_COLUMNS
    assert header[len(CASE_COLUMNS):] == ["data.exit_reason", "data.name", "data.needs.benefits",
                                          "data.needs.housing", "data.note", "data.score",
                                          "data.tags", "data.urgent"]
    first = dict(zip(header, rows[1], strict=True))
    assert first["id"] == "1" and first["client"] == "7" and first["version"] == "2"
    assert first["created_at"] == "2026-03-01T09:30:00+00:00"
    # the end's reason in its column; a form answer of the same name under data.
    assert (first["exit_reason"], first["data.exit_reason"]) == ("completed", "moved_away")
    assert first["data.urgent"] == "true" and first["data.needs.housing"] == "yes"
    assert first["data.needs.benefits"] == "" and first["data.tags"] == '["a", "b"]'
    second = dict(zip(header, rows[2], strict=True))
    assert second["data.score"] == "3.5" and second["data.urgent"] == ""
    assert second["data.name"] == "Zoë, \"Z\"\nR"  # quoted, round-trips
    assert second["data.note"] == "'=HYPERLINK(\"x\")"  # no formula for spreadsheets
    assert len({len(r) for r in rows}) == 1


def test_cases_csv_of_no_cases_is_just_the_header() -> None:
    assert read_csv(cases_csv([])) == [list(CASE_COLUMNS)]


def test_cases_csv_with_note_counts_adds_a_last_notes_column() -> None:
    """After the data columns, so every column before keeps its place (`export cases`)."""
    rows = read_csv(cases_csv([case(1, data={"b": 1}), case(2)], {1: 3}))
    assert rows[0] == [*CASE_COLUMNS, "data.b", "notes"]
    assert [(r[0], r[-1]) for r in rows[1:]] == [("1", "3"), ("2", "0")]


def test_tasks_csv_lists_open_tasks_with_the_step_they_wait_at() -> None:
    due = datetime(2026, 4, 1, 17, 0, tzinfo=UTC)
    tasks = [InboxTask(id="t-1", case_id=1, pathway="referral", version=2, step="assess",
                       title="Assess — première", role="worker", form=None, due=due,
                       created_at=T0, assignee="amy"),
             InboxTask(id="t-2", case_id=9, pathway="referral", version=1, step="intake",
                       title="Intake", role=None, form=None, due=None)]
    rows = read_csv(tasks_csv(tasks, {1: 7}))
    assert tuple(rows[0]) == TASK_COLUMNS
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first == {"task": "t-1", "case": "1", "client": "7", "pathway": "referral",
                     "version": "2", "waiting_for": "assess", "title": "Assess — première",
                     "role": "worker", "assignee": "amy", "due": "2026-04-01T17:00:00+00:00",
                     "created_at": "2026-03-01T09:30:00+00:00"}
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["client"], second["role"], second["due"], second["assignee"]) == (
        "", "", "", "")


# -- INDIGO ------------------------------------------------------------------------------

_STRING = {"type": "object", "properties": {"value": {"type": "string"}},
           "required": ["value"], "additionalProperties": False}
_NUMBER = {"type": "object", "properties": {"value": {"type": "number"}},
           "required": ["value"], "additionalProperties": False}
_DATE = {"type": "object", "required": ["value"], "additionalProperties": False,
         "properties": {"value": {"type": "string", "pattern": (
             "^[0-9][0-9][0-9][0-9]$|^[0-9][0-9][0-9][0-9]-[0-9][0-9]$"
             "|^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$")}}}


INDIGO_CODELISTS_FILE = Path(__file__).parents[2] / "data" / "indigo_project_codelists.json"
INDIGO_CODES: dict[str, Any] = json.loads(INDIGO_CODELISTS_FILE.read_text("utf-8"))
CODELISTS: dict[str, list[str]] = INDIGO_CODES["codelists"]


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "object", "required": ["value"], "additionalProperties": False,
            "properties": {"value": {"type": "string", "enum": list(values)}}}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


# The fields Pathways fills, with the types INDIGO's project.json gives them (definitions
# object_with_value_string/_number/_date) and its code lists (CODELISTS: stage_development,
# unit_type_actual_service_users_or_beneficiaries, result_level, result_type, sources' type;
# outcome_validation_method from the options its description lists). Closed with
# additionalProperties: false, so a misspelt field name fails here.
MINIMAL_INDIGO_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    **_object({
        "name": _STRING,
        "stage_development": _enum(*CODELISTS["stage_development"]),
        "dates": _object({"start_date_of_service_provision": _DATE}),
        "purpose_and_classifications": _object({"intervention": _STRING}),
        "service_and_beneficiaries": _object({
            "actual_number_service_users_or_beneficiaries_total": _NUMBER,
            "unit_type_actual_service_users_or_beneficiaries": _enum(*CODELISTS[
                "service_and_beneficiaries.unit_type_actual_service_users_or_beneficiaries"]),
        }),
        "service_provisions": {"type": "array", "items": _object({
            "id": {"type": "string"}, "organisation_id": _STRING, "intervention": _STRING,
            "actual_service": _object({"start_date": _STRING}), "notes": {"type": "string"},
        }, ("id", "organisation_id"))},
        "outcome_metrics": {"type": "array", "minItems": 1, "items": _object({
            "id": {"type": "string"}, "definition": _STRING,
            "outcome_validation_method": _enum(
                *INDIGO_CODES["suggested"]["outcome_metrics.outcome_validation_method"]),
            "data_source_for_outcome_validation": _STRING,
        }, ("id", "definition"))},
        "results": {"type": "array", "items": _object({
            "outcome_metric_id": _STRING,
            "result_level": _enum(*CODELISTS["results.result_level"]),
            "result_type": _enum(*CODELISTS["results.result_type"]),
            "period": _object({"start_date": _DATE, "end_date": _DATE}),
            "number_engaged_in_impact_bond": _NUMBER,
            "number_with_positive_social_outcomes": _NUMBER,
            "notes": {"type": "string"},
        }, ("outcome_metric_id",))},
        "sources": {"type": "array", "minItems": 1, "items": _object({
            "id": {"type": "string"}, "name": _STRING, "type": _enum(*CODELISTS["sources.type"]),
            "accessed_date": _STRING,
        }, ("id",))},
    }, ("name", "sources")),
}


def sample_project() -> dict[str, Any]:
    cases = [case(1, client=7), case(2, client=8), case(3, client=7, pathway="family")]
    events = {
        1: [event(1, 5, "outcome_recorded", step="engaged",
                  data={"outcome": "engaged", "value": True})],
        2: [event(2, 5, "outcome_recorded", step="engaged",
                  data={"outcome": "engaged", "value": False}),
            event(2, 6, "outcome_recorded", step="housed",
                  data={"outcome": "housed", "value": 2})],
        3: [event(3, 5, "outcome_recorded", step="housed",
                  data={"outcome": "housed", "value": None, "problem": "bad expression"})],
    }
    pathways = [ProgrammePathway("referral", 2, "Referral", "st_giles", ("st_giles", "mind")),
                ProgrammePathway("family", 1, "", None, ())]
    return indigo_project(name="One Service", pathways=pathways, cases=cases,
                          events_by_case=events, as_of=datetime(2026, 6, 30, 23, 0, tzinfo=UTC),
                          organisation_names={"mind": "Mind"})


def test_indigo_project_follows_the_standard_field_names_and_counts() -> None:
    project = sample_project()
    jsonschema.Draft7Validator(MINIMAL_INDIGO_SCHEMA).validate(project)
    json.dumps(project)  # JSON-ready
    assert project["name"] == {"value": "One Service"}
    assert project["stage_development"] == {"value": "Implementation"}
    assert project["dates"]["start_date_of_service_provision"] == {"value": "2026-03-01"}
    served = project["service_and_beneficiaries"]
    assert served["actual_number_service_users_or_beneficiaries_total"] == {"value": 2}
    assert [p["id"] for p in project["service_provisions"]] == ["referral/st_giles",
                                                                "referral/mind"]
    assert project["service_provisions"][1]["notes"] == "Organisation: Mind"
    assert [m["id"] for m in project["outcome_metrics"]] == ["engaged", "housed"]
    results = {r["outcome_metric_id"]["value"]: r for r in project["results"]}
    # engaged: client 7 yes, client 8 no; housed: client 8 (2 > 0), client 7's failed
    assert results["engaged"]["number_with_positive_social_outcomes"] == {"value": 1}
    assert results["housed"]["number_with_positive_social_outcomes"] == {"value": 1}
    assert results["engaged"]["number_engaged_in_impact_bond"] == {"value": 2}
    assert results["engaged"]["period"] == {"start_date": {"value": "2026-03-01"},
                                            "end_date": {"value": "2026-06-30"}}
    assert project["sources"][0]["accessed_date"] == {"value": "2026-06-30"}


def test_indigo_project_of_an_empty_programme_is_still_valid() -> None:
    project = indigo_project(name="New", pathways=[], cases=[], events_by_case={},
                             as_of=T0)
    jsonschema.Draft7Validator(MINIMAL_INDIGO_SCHEMA).validate(project)
    assert "outcome_metrics" not in project and "stage_development" not in project


@pytest.mark.skipif(not os.environ.get("PATHWAYS_INDIGO_SCHEMA"),
                    reason="set PATHWAYS_INDIGO_SCHEMA to a local copy of INDIGO's "
                           "schema/project.json")
def test_indigo_project_validates_against_the_full_schema() -> None:
    schema = json.loads(Path(os.environ["PATHWAYS_INDIGO_SCHEMA"]).read_text("utf-8"))
    jsonschema.Draft7Validator(schema).validate(sample_project())


def test_indigo_counts_a_lower_is_better_outcome_by_the_people_it_did_not_happen_to() -> None:
    """`reconvicted` is a negative outcome: a client recorded as reconvicted is not a positive
    social outcome; one recorded as not reconvicted is. The direction comes from the
    measure's configuration (OutcomeMeasure.direction), passed in by outcome name."""
    cases = [case(1, client=7), case(2, client=8), case(3, client=9), case(4, client=10)]
    events = {
        1: [event(1, 5, "outcome_recorded", step="review",
                  data={"outcome": "reconvicted", "value": True})],
        2: [event(2, 5, "outcome_recorded", step="review",
                  data={"outcome": "reconvicted", "value": False})],
        3: [event(3, 5, "outcome_recorded", step="review",
                  data={"outcome": "reconvicted", "value": 0})],
        4: [event(4, 5, "outcome_recorded", step="review",  # failed: not known either way
                  data={"outcome": "reconvicted", "value": None, "problem": "bad"})],
    }
    project = indigo_project(name="P", pathways=[], cases=cases, events_by_case=events,
                             as_of=T0, directions={"reconvicted": "lower_is_better"})
    jsonschema.Draft7Validator(MINIMAL_INDIGO_SCHEMA).validate(project)
    (result,) = project["results"]
    assert result["number_with_positive_social_outcomes"] == {"value": 2}  # clients 8 and 9
    assert "Lower is better" in project["outcome_metrics"][0]["definition"]["value"]
    # without a configured direction the old reading stays (higher is better)
    default = indigo_project(name="P", pathways=[], cases=cases, events_by_case=events,
                             as_of=T0)
    assert default["results"][0]["number_with_positive_social_outcomes"] == {"value": 1}


def test_indigo_refuses_an_unknown_outcome_direction() -> None:
    with pytest.raises(InvalidArgumentError, match="direction"):
        indigo_project(name="P", pathways=[], cases=[], events_by_case={}, as_of=T0,
                       directions={"reconvicted": "down"})


def test_xes_traces_carry_the_randomisation_arm_and_allocation_policy() -> None:
    """Process mining by arm needs the arm on the trace: a case allocated by a split has its
    arm (the version drawn) and the policy; one allocated otherwise has only the policy; one
    without an allocation event has neither."""
    cases = [case(1), case(2), case(3)]
    events = {
        1: [event(1, 1, "version_allocated",
                  data={"policy": "split", "version": 2, "policy_id": 4,
                        "weights": {"1": 1, "2": 1}, "seed": "ab", "draw": 0.7}),
            event(1, 2, "case_started", at=T0 + timedelta(seconds=1))],
        2: [event(2, 1, "version_allocated", data={"policy": "latest", "version": 2})],
        3: [event(3, 1, "case_started")],
    }
    root = check_xes_structure(to_xes(cases, events))
    split, latest, unallocated = (attributes(t) for t in root.findall("x:trace", NS))
    assert (split["arm"], split["allocation_policy"], split["allocation_policy_id"]) == (
        "2", "split", "4")
    assert latest["allocation_policy"] == "latest" and "arm" not in latest
    assert "allocation_policy" not in unallocated and "arm" not in unallocated


def test_xes_event_times_are_strictly_increasing_within_a_trace() -> None:
    """Events recorded in the same millisecond, or with a clock that went back, are written
    one millisecond after the one before (the log's order is the truth), and keep the time
    they were recorded with as `recorded_time`."""
    cases = [case(1)]
    events = {1: [event(1, 1, "case_started"),
                  event(1, 2, "task_ready", step="intake"),  # same instant
                  event(1, 3, "task_completed", step="intake",
                        at=T0 - timedelta(minutes=5)),  # clock went back
                  event(1, 4, "case_completed", at=T0 + timedelta(hours=1))]}
    root = check_xes_structure(to_xes(cases, events))
    written = [attributes(e) for e in root.findall("x:trace/x:event", NS)]
    stamps = [datetime.fromisoformat(e["time:timestamp"]) for e in written]
    assert all(a < b for a, b in pairwise(stamps)), stamps
    assert [e["time:timestamp"] for e in written] == [
        "2026-03-01T09:30:00.000+00:00", "2026-03-01T09:30:00.001+00:00",
        "2026-03-01T09:30:00.002+00:00", "2026-03-01T10:30:00.000+00:00"]
    assert "recorded_time" not in written[0] and "recorded_time" not in written[3]
    assert written[1]["recorded_time"] == "2026-03-01T09:30:00.000+00:00"
    assert written[2]["recorded_time"] == "2026-03-01T09:25:00.000+00:00"


def test_xes_names_steps_by_their_title_and_keeps_the_step_id() -> None:
    """Analysts read "Intake", not "Activity_0x1f": concept:name is the step's title in the
    case's version, the step id an attribute. A step without a known title keeps its id."""
    cases, events = sample_log()
    titles = {("referral", 2): {"intake": "Intake interview", "gw_housing": "Needs housing?"}}
    root = check_xes_structure(to_xes(cases, events, step_titles=titles))
    first = [attributes(e) for e in root.findall("x:trace", NS)[0].findall("x:event", NS)]
    assert [(e["concept:name"], e.get("step")) for e in first] == [
        ("case_started", None), ("Intake interview", "intake"),
        ("Intake interview", "intake"), ("engaged", "engaged"),
        ("Needs housing?", "gw_housing")]
    # another version's titles do not apply
    other = {("referral", 1): {"intake": "Old intake"}}
    root = check_xes_structure(to_xes(cases, events, step_titles=other))
    assert attributes(root.findall("x:trace/x:event", NS)[1])["concept:name"] == "intake"


def test_xes_has_a_start_transition_where_work_on_a_task_began() -> None:
    """A task is scheduled when it becomes ready, started when first claimed or drafted
    (task_started), completed when submitted: three events of one activity instance
    (concept:instance = the task id), named by the step's title, the step id kept; times
    strictly increasing even when recorded in one millisecond."""
    cases = [case(1)]
    events = {1: [
        event(1, 1, "case_started"),
        event(1, 2, "task_ready", step="intake", data={"task": "t-1", "title": "Intake"}),
        event(1, 3, "task_started", step="intake", actor="amy",
              data={"task": "t-1", "via": "claim"}),
        event(1, 4, "task_ready", step="plan", at=T0 + timedelta(hours=1),
              data={"task": "t-2"}),
        event(1, 5, "task_completed", step="intake", actor="amy",
              at=T0 + timedelta(hours=1), data={"task": "t-1", "data": {"secret": 1}}),
    ]}
    titles = {("referral", 2): {"intake": "Intake interview"}}
    text = to_xes(cases, events, step_titles=titles)
    root = check_xes_structure(text)
    written = [attributes(e) for e in root.findall("x:trace/x:event", NS)]
    assert [(e["concept:name"], e["lifecycle:transition"], e.get("concept:instance"))
            for e in written] == [
        ("case_started", "complete", None), ("Intake interview", "schedule", "t-1"),
        ("Intake interview", "start", "t-1"), ("plan", "schedule", "t-2"),
        ("Intake interview", "complete", "t-1")]
    assert written[2]["step"] == "intake" and written[2]["org:resource"] == "amy"
    stamps = [datetime.fromisoformat(e["time:timestamp"]) for e in written]
    assert all(a < b for a, b in pairwise(stamps)), stamps
    assert "secret" not in text  # form data is still left out


def test_events_csv_names_the_task_an_event_is_about_in_a_last_column() -> None:
    """`task` is added after the columns the README documents, which keep their order."""
    from engine.exports import EVENT_COLUMNS, events_csv

    assert EVENT_COLUMNS[:13] == ("case", "pathway", "version", "client", "seq", "at", "type",
                                  "step", "actor", "outcome", "gateway", "branch",
                                  "branch_flow")
    assert EVENT_COLUMNS[13:] == ("task",)
    events = {1: [event(1, 1, "case_started"),
                  event(1, 2, "task_started", step="intake", data={"task": "t-1"})]}
    rows = read_csv(events_csv([case(1)], events))
    assert [dict(zip(rows[0], r, strict=True))["task"] for r in rows[1:]] == ["", "t-1"]


def test_xes_orders_a_traces_events_by_seq_whatever_order_they_come_in() -> None:
    """The tie-break is the log's own order (seq), not the order a caller happened to pass:
    events given shuffled, some in one millisecond, come out by seq, times increasing."""
    shuffled = {1: [event(1, 3, "task_completed", step="intake", data={"task": "t"}),
                    event(1, 1, "case_started"),
                    event(1, 4, "case_completed", at=T0 - timedelta(seconds=1)),
                    event(1, 2, "task_ready", step="intake", data={"task": "t"})]}
    root = check_xes_structure(to_xes([case(1)], shuffled))
    written = [attributes(e) for e in root.findall("x:trace/x:event", NS)]
    assert [e["seq"] for e in written] == ["1", "2", "3", "4"]
    stamps = [datetime.fromisoformat(e["time:timestamp"]) for e in written]
    assert all(a < b for a, b in pairwise(stamps)), stamps
    assert to_xes([case(1)], shuffled) == to_xes([case(1)], {1: sorted(
        shuffled[1], key=lambda e: e.seq)})

"""The branch a decision took, in the XES and CSV exports (issue 11 item 7), and hidden from
redacted exports when the decision is sensitive."""

from __future__ import annotations

import csv
import io
import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from adapters.definition_files import read_bundle
from engine import Engine
from engine.access.privacy import Redactor, Sensitivity
from engine.exports import EVENT_COLUMNS, events_csv, redact, to_xes
from engine.model import Event
from tests.pathway_texts import WORK_DECISION
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.engine.test_exports import (
    NS,
    T0,
    attributes,
    case,
    check_xes_structure,
    event,
    sample_log,
)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_xes_decision_events_carry_the_gateway_and_the_branch_taken() -> None:
    cases, events = sample_log()
    root = check_xes_structure(to_xes(cases, events))
    trace = root.findall("x:trace", NS)[0]
    [decision] = [attributes(e) for e in trace.findall("x:event", NS)
                  if attributes(e)["event_type"] == "decision"]
    assert (decision["gateway"], decision["branch"]) == ("Needs housing?",
                                                         "needs housing")
    assert decision["branch_flow"] == "flow_yes"
    others = [attributes(e) for e in trace.findall("x:event", NS)
              if attributes(e)["event_type"] != "decision"]
    assert not any("branch" in e or "gateway" in e for e in others)


def test_a_decision_recorded_before_branches_were_named_falls_back_to_its_target() -> None:
    old = {1: [event(1, 1, "decision", step="gw", data={
        "gateway": "gw", "taken": ["refer_housing"], "taken_names": ["Refer to housing"]}),
        event(1, 2, "decision", step="gw2", data={"gateway": "gw2", "taken": ["x_merge"],
                                                   "taken_names": []})]}
    root = check_xes_structure(to_xes([case(1)], old))
    found = [attributes(e) for e in root.findall("x:trace/x:event", NS)]
    assert [e["branch"] for e in found] == ["Refer to housing", "x_merge"]
    assert [r["branch"] for r in _rows(events_csv([case(1)], old))] == [
        "Refer to housing", "x_merge"]


def test_events_csv_has_a_row_per_event_with_the_branch_taken() -> None:
    cases, events = sample_log()
    rows = _rows(events_csv(cases, events))
    assert tuple(rows[0]) == EVENT_COLUMNS
    assert [(r["case"], r["seq"], r["type"]) for r in rows] == [
        ("1", "1", "case_started"), ("1", "2", "task_ready"), ("1", "3", "task_completed"),
        ("1", "4", "outcome_recorded"), ("1", "5", "decision"), ("2", "1", "case_started"),
        ("2", "2", "case_cancelled")]
    decision = rows[4]
    assert (decision["step"], decision["gateway"], decision["branch"],
            decision["branch_flow"]) == ("gw_housing", "Needs housing?",
                                         "needs housing", "flow_yes")
    assert rows[0]["at"] == T0.isoformat() and rows[0]["actor"] == "amy"
    assert rows[3]["outcome"] == "engaged" and rows[3]["branch"] == ""
    assert rows[5]["pathway"] == "family" and rows[5]["client"] == "8"


TRIAGE = """\
pathway: triage
title: Triage
roles:
  worker: {title: Worker}
steps:
  - task: assess
    role: worker
    title: Assess
    form:
      uses_drugs: {type: boolean, required: true, sensitive: health, title: Uses drugs}
      wants_work: {type: boolean, required: true, title: Wants work}
""" + textwrap.indent(WORK_DECISION, "  ") + """\
  - decide: gw_drugs
    branches:
      - when: uses_drugs
        steps:
          - task: refer_rehab
            role: worker
            title: Refer to rehab
    otherwise: []
"""


@pytest.fixture
def triage(tmp_path: Path) -> tuple[Engine, int]:
    """A triage case that took both decisions' `when` branches (work, then rehab)."""
    (tmp_path / "triage.yaml").write_text(TRIAGE)
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(*read_bundle(tmp_path / "triage.yaml"))
    client = engine.add_client("Ann")
    view = engine.start_case("triage", client.id or 0)
    engine.complete_task(view.tasks[0].task.id, {"uses_drugs": True, "wants_work": True})
    [work] = engine.get_case(view.case.id or 0).tasks
    engine.complete_task(work.task.id, {})
    return engine, view.case.id or 0


def _exports(engine: Engine, case_id: int, *, redacted: bool) -> tuple[str, str]:
    record = engine.get_case(case_id).case
    cases, events = [record], {case_id: engine.events(case_id)}
    if redacted:  # as `pathways export` does without --full
        definition = engine.definition(record.pathway, record.version)
        redactor = Redactor(Sensitivity.of([(record.pathway, record.version, definition)]),
                            frozenset())
        cases, events = redact(redactor, cases, events)
    return to_xes(cases, events), events_csv(cases, events)


def _exported_decisions(engine: Engine, case_id: int, *, redacted: bool
                        ) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """The case's XES (its structure checked) and CSV exports, and the branch each decision
    took as each of them tells it."""
    xes, table = _exports(engine, case_id, redacted=redacted)
    check_xes_structure(xes)
    root = ET.fromstring(xes)  # noqa: S314 - our own output
    in_xes = {a["concept:name"]: a["branch"] for a in
              (attributes(e) for e in root.findall("x:trace/x:event", NS))
              if a["event_type"] == "decision"}
    in_csv = {r["step"]: r["branch"] for r in _rows(table) if r["type"] == "decision"}
    return xes, table, in_xes, in_csv


def test_exports_of_a_real_case_name_the_branch_each_decision_took(
        triage: tuple[Engine, int]) -> None:
    engine, case_id = triage
    _xes, table, in_xes, in_csv = _exported_decisions(engine, case_id, redacted=False)
    assert in_xes == in_csv == {"gw_work": "wants work", "gw_drugs": "uses drugs"}
    flows = {r["step"]: r["branch_flow"] for r in _rows(table) if r["type"] == "decision"}
    definition = engine.definition("triage", 1)
    for step, flow in flows.items():
        assert (step, flow) in {(source, flow_id) for (source, _), (flow_id, _)
                                in definition.flows.items()}


def test_a_sensitive_decision_and_its_branch_stay_out_of_redacted_exports(
        triage: tuple[Engine, int]) -> None:
    engine, case_id = triage
    xes, table, in_xes, in_csv = _exported_decisions(engine, case_id, redacted=True)
    assert in_xes == in_csv == {"gw_work": "wants work"}  # gw_drugs: not there at all
    for text in (xes, table):
        assert "uses_drugs" not in text and "rehab" not in text and "gw_drugs" not in text


def test_events_csv_cells_are_neutralised_for_spreadsheets() -> None:
    events = {1: [Event(case_id=1, seq=1, type="decision", at=T0, step="gw", actor=None,
                        data={"gateway": "=cmd", "taken": ["t"], "branches": ["+1"]})]}
    [row] = _rows(events_csv([case(1)], events))
    assert (row["gateway"], row["branch"]) == ("'=cmd", "'+1")


@pytest.mark.skipif(not os.environ.get("PATHWAYS_XES_XSD"),
                    reason="set PATHWAYS_XES_XSD to a local copy of the IEEE 1849-2016 XSD")
@pytest.mark.parametrize("redacted", [False, True])
def test_exports_of_a_real_case_validate_against_the_official_schema(
        triage: tuple[Engine, int], redacted: bool) -> None:
    from lxml import etree

    engine, case_id = triage
    schema = etree.XMLSchema(etree.parse(os.environ["PATHWAYS_XES_XSD"]))
    doc = etree.fromstring(_exports(engine, case_id, redacted=redacted)[0].encode("utf-8"))
    for element in doc.iter():  # the 2016 XSD has no target namespace (see test_exports)
        element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(doc)
    schema.validate(doc)
    assert [e.message for e in schema.error_log if "xes.version" not in e.message] == []

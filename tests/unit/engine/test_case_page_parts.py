"""The pure parts of the case page: answers in words (engine.casework.case_answers) and the
diagram without what a viewer may not see (engine.casework.case_diagram)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.access import HIDDEN
from engine.casework.case_answers import Answer, answers, day, moment
from engine.casework.case_diagram import redact

SCHEMA = {"properties": {
    "met": {"type": "boolean", "title": "Met at the gate"},
    "how": {"type": "string", "enum": ["probation_office", "phone"], "title": "How"},
    "mood": {"type": "integer", "title": "Mood", "x-pathways-labels": {"1": "Low", "5": "Good"}},
    "when": {"type": "string", "format": "date", "title": "First contact"},
    "needs": {"type": "array", "items": {"type": "string", "enum": ["a_b", "c"]},
              "title": "Needs"},
    "risk": {"type": "string", "title": "Risk level"},
    "notes": {"type": "string", "title": "Notes"},
}}


def test_answers_are_labelled_from_the_form_and_said_in_words() -> None:
    found = answers(SCHEMA, {"notes": "", "risk": HIDDEN, "extra_field": 3, "needs": ["a_b"],
                             "when": "2026-10-07", "mood": 5, "how": "probation_office",
                             "met": False})
    assert found == [
        Answer("met", "Met at the gate", "No"),
        Answer("how", "How", "probation office"),
        Answer("mood", "Mood", "5 — Good"),
        Answer("when", "First contact", "7 Oct 2026"),
        Answer("needs", "Needs", "a b"),
        Answer("risk", "Risk level", HIDDEN, hidden=True),
        Answer("extra_field", "extra field", "3"),  # not on the form: after, by name
    ]  # notes left empty: not an answer
    assert answers(None, {"done": True}) == [Answer("done", "done", "Yes")]


def test_dates_and_times_one_way() -> None:
    assert day(date(2026, 10, 7)) == "7 Oct 2026"
    assert day("2026-10-07T09:00:00+00:00") == "7 Oct 2026"
    assert day("not a date") == "not a date" and day(None) == ""
    assert moment(datetime(2026, 10, 7, 14, 5, tzinfo=UTC)) == "7 Oct 2026, 14:05"


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">
  <!-- a comment naming refer_drugs -->
  <bpmn:message id="start_msg" name="start:drug_service"/>
  <bpmn:process id="gate" name="Gate reception" isExecutable="true">
    <bpmn:userTask id="assess" name="Assessment">
      <bpmn:documentation>asks about drugs</bpmn:documentation>
      <bpmn:outgoing>flow_to_refer_drugs</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="refer_drugs" name="Refer to drug services"
        spiffworkflow:note="x">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="refer" value="drug_service"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>flow_to_refer_drugs</bpmn:incoming>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_to_refer_drugs" sourceRef="assess" targetRef="refer_drugs">
      <bpmn:conditionExpression>needs_drugs</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="gate">
    <bpmndi:BPMNShape id="refer_drugs_di" bpmnElement="refer_drugs">
      <dc:Bounds x="1" y="2" width="3" height="4"/>
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_the_diagram_loses_what_the_viewer_may_not_see_and_what_is_never_drawn() -> None:
    drawn = redact(BPMN, "gate.bpmn", lambda ident: ident == "refer_drugs",
                   lambda name: name.removeprefix("start:") == "drug_service", "gate")
    text = drawn.text
    for secret in ("refer_drugs", "Refer to drug services", "drug_service", "documentation",
                   "needs_drugs", "spiffworkflow:note", "extensionElements", "<!--"):
        assert secret not in text, secret
    assert drawn.title == "Gate reception" and drawn.names == {
        "gate": "Gate reception", "assess": "Assessment"}
    # the message naming the hidden pathway, the hidden step, then the flow and the shape
    # whose ids spell it out: opaque, in that order, and every reference follows
    assert drawn.hidden == 4 and 'bpmnElement="hidden_2"' in text
    assert 'targetRef="hidden_2"' in text and "<bpmn:outgoing>hidden_3</bpmn:outgoing>" in text
    assert "assess" in drawn.ids and "refer_drugs" not in drawn.ids
    whole = redact(BPMN, "gate.bpmn", lambda ident: False, lambda name: False, "gate")
    assert 'id="refer_drugs"' in whole.text and "Refer to drug services" in whole.text
    assert whole.hidden == 0 and "needs_drugs" not in whole.text

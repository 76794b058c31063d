"""An end's exit reason lives in the engine's own place, never over a form answer (issue 11
item 5), and form fields may not take the names the engine writes into case data."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine import DefinitionError, Engine
from engine.data_names import ENGINE_DATA_NAMES, reserved_data_name
from engine.exports import cases_csv
from tests.bpmn_text import one_form_task
from tests.unit.dsl.test_shipped import GATE_ANSWERS, RELEASE, drive, engine_with_everything
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def test_gate_reception_exit_review_keeps_the_caseworkers_reason() -> None:
    engine, clock = engine_with_everything()
    client = engine.add_client("Sam", {"release_date": RELEASE})
    case_id = engine.start_case("gate_reception", client.id or 0).case.id or 0
    steps = drive(engine, clock, case_id,
                  {**GATE_ANSWERS, "exit_review": {"exit_reason": "reconvicted"}})
    assert steps[-1] == "exit_review"
    case = engine.get_case(case_id).case
    assert case.status == "completed"
    assert case.data["exit_reason"] == "reconvicted"  # the caseworker's answer
    assert case.exit_reason == "closed"  # the `end` step's reason, in the engine's place
    completed = engine.events(case_id)[-1]
    assert (completed.type, completed.data) == ("case_completed", {"exit_reason": "closed"})
    # read as CSV: a repeat's rounds are a column of JSON, quoted, commas and all
    header, row = list(csv.reader(io.StringIO(cases_csv([case]))))[:2]
    values = dict(zip(header, row, strict=True))
    assert (values["exit_reason"], values["data.exit_reason"]) == ("closed", "reconvicted")


def test_the_engine_writes_only_reserved_names_into_case_data() -> None:
    """What a case holds before anyone answers a form is all the engine's: every name is
    reserved, so no form field can overwrite it (nor it a form answer)."""
    engine, clock = engine_with_everything()
    client = engine.add_client("Sam", {"release_date": RELEASE})
    referred = engine.start_case("gate_reception", client.id or 0).case.id or 0
    drive(engine, clock, referred, {
        **GATE_ANSWERS, "needs_assessment": {**GATE_ANSWERS["needs_assessment"],
                                             "needs_accommodation": False}})
    [family] = engine.list_cases(pathway="family_support")  # started by the referral
    assert not any(e.type == "task_completed" for e in engine.events(family.id or 0))
    engine_keys = set(engine.get_case(family.id or 0).case.data)  # nobody answered yet
    assert {"client", "referral"} <= engine_keys
    assert all(reserved_data_name(key) for key in engine_keys), engine_keys
    assert set(ENGINE_DATA_NAMES) >= {"client", "referral"}
    assert reserved_data_name("exit_reason") is None  # a form's own name again
    assert reserved_data_name("notes") is None


_FORM_BPMN = one_form_task("formed", "review", "formed.review.schema.json", task_title="Review")


@pytest.mark.parametrize("name", ["client", "referral", "pathways_exit"])
def test_publishing_bpmn_with_a_form_field_the_engine_writes_is_refused(name: str) -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    form = json.dumps({"type": "object", "properties": {
        "notes": {"type": "string"}, name: {"type": "string"}}}, indent=2)
    with pytest.raises(DefinitionError) as caught:
        engine.publish({"formed.bpmn": _FORM_BPMN, "formed.review.schema.json": form},
                       "formed.bpmn")
    err = caught.value
    assert (err.file, err.element) == ("formed.review.schema.json", "review")
    assert err.line == form.splitlines().index(f'    "{name}": {{') + 1
    assert err.details["field"] == f"properties.{name}"
    assert "reserved" in err.reason


def test_publishing_bpmn_with_a_form_field_named_exit_reason_is_fine() -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    form = json.dumps({"type": "object", "properties": {"exit_reason": {"type": "string"}}})
    engine.publish({"formed.bpmn": _FORM_BPMN, "formed.review.schema.json": form},
                   "formed.bpmn")


def test_the_dsl_compilers_own_case_data_is_reserved() -> None:
    from dsl.compile import EXIT_FLAG
    assert reserved_data_name(EXIT_FLAG) is not None


def test_publishing_bpmn_with_a_form_field_a_message_is_caught_into_is_refused() -> None:
    catching = _FORM_BPMN.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="wait"/>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f2</bpmn:incoming>'
        '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:messageEventDefinition messageRef="booked">'
        "<bpmn:extensionElements><spiffworkflow:messageVariable>appointment"
        "</spiffworkflow:messageVariable></bpmn:extensionElements>"
        "</bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>').replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming>',
        '<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming>').replace(
        "</bpmn:process>", '</bpmn:process><bpmn:message id="booked" name="booked"/>')
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    form = json.dumps({"type": "object", "properties": {"appointment": {"type": "string"}}})
    with pytest.raises(DefinitionError) as caught:
        engine.publish({"formed.bpmn": catching, "formed.review.schema.json": form},
                       "formed.bpmn")
    assert caught.value.element == "review" and "'wait'" in caught.value.reason
    fine = json.dumps({"type": "object", "properties": {"notes": {"type": "string"}}})
    engine.publish({"formed.bpmn": catching, "formed.review.schema.json": fine}, "formed.bpmn")

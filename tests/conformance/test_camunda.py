"""Camunda-flavoured BPMN, as Camunda Modeler writes it, run by Pathways (issue 16 item 12).

BPMN 2.0.2 §8.2.3 (Extensibility: `extensionElements` and attributes of other namespaces) lets
a modeler add its own vocabulary; Camunda Modeler adds the `camunda:` one. Pathways runs the
parts it can run as Camunda would: a generated form (`camunda:formData`) is the task's form,
`camunda:candidateGroups` the role that may do the task, `camunda:assignee` the person it is
assigned to, and JUEL `${...}` conditions (§10.6 gateways and §13.4 their semantics, the
condition being a `tFormalExpression` in the modeler's language) are translated into Pathways'
expression language. What it cannot run so is refused at publish, at the element.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import DefinitionError, FormValidationError
from tests.conformance.bpmn import (
    MAIN_FILE,
    PROCESS,
    end,
    flow,
    flows,
    gateway,
    model,
    process,
    script,
    start,
    user,
)
from tests.conformance.harness import Complete, Conformance, Outcome, traced

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_0x1" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
        'exporterVersion="5.17.0" modeler:executionPlatform="Camunda Platform" '
        'modeler:executionPlatformVersion="7.20.0">\n')

REVIEW_FORM = """
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="amount" label="Amount (GBP)" type="long">
            <camunda:validation>
              <camunda:constraint name="required" />
              <camunda:constraint name="min" config="0" />
              <camunda:constraint name="max" config="100000" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="decision" label="Decision" type="enum">
            <camunda:value id="approve" name="Approve" />
            <camunda:value id="reject" name="Reject" />
            <camunda:validation>
              <camunda:constraint name="required" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="manager" label="Manager to sign off" type="string">
            <camunda:validation>
              <camunda:constraint name="minlength" config="2" />
              <camunda:constraint name="maxlength" config="40" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="urgent" label="Urgent" type="boolean" defaultValue="false" />
          <camunda:formField id="received" label="Received on" type="date" />
        </camunda:formData>
      </bpmn:extensionElements>"""


def modeler_file(*, review: str = 'camunda:candidateGroups="reviewers" camunda:assignee="amy"',
                 big: str = "${decision == 'approve' &amp;&amp; amount &gt; 1000}",
                 small: str = "${decision eq 'approve' and not (amount gt 1000)}",
                 form: str = REVIEW_FORM) -> dict[str, str]:
    """An expense approval as Camunda Modeler saves it: `review` (a generated form, done by
    the reviewers, assigned to amy) then an exclusive gateway on JUEL conditions: a large
    approved amount goes to `sign_off` (assigned to the manager named in the form), a small
    one ends at `paid`; anything else (the default) at `rejected`."""
    text = HEAD + f"""  <bpmn:process id="{PROCESS}" name="Expenses" isExecutable="true"
      camunda:historyTimeToLive="180">
    <bpmn:startEvent id="start" name="Claim made">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="review" name="Review claim" {review}>{form}
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="decide" name="Approved?" default="Flow_rejected">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_big</bpmn:outgoing>
      <bpmn:outgoing>Flow_small</bpmn:outgoing>
      <bpmn:outgoing>Flow_rejected</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="sign_off" name="Sign off" camunda:assignee="${{manager}}"
        camunda:asyncBefore="true">
      <bpmn:incoming>Flow_big</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="signed" name="Signed off">
      <bpmn:incoming>Flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="paid" name="Paid">
      <bpmn:incoming>Flow_small</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="rejected" name="Rejected">
      <bpmn:incoming>Flow_rejected</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="review" targetRef="decide" />
    <bpmn:sequenceFlow id="Flow_big" name="large" sourceRef="decide" targetRef="sign_off">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{big}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_small" name="small" sourceRef="decide" targetRef="paid">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{small}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_rejected" sourceRef="decide" targetRef="rejected" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="sign_off" targetRef="signed" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{PROCESS}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="152" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review">
        <dc:Bounds x="240" y="80" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="188" y="120" />
        <di:waypoint x="240" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
    return {MAIN_FILE: text}


def run(bpmn: Conformance, files: dict[str, str], answers: list[Complete],
        seen: list[Any] | None = None) -> Outcome:
    """Run the model, noting the open tasks (as the inbox shows them) before each answer."""
    bpmn.publish(files)
    client = bpmn.engine().add_client("Camunda client").id or 0
    with traced() as trace:
        case_id = bpmn.engine().start_case(PROCESS, client).case.id or 0
        for answer in answers:
            if seen is not None:
                seen.extend(bpmn.engine().get_case(case_id).tasks)
            bpmn.apply(case_id, client, answer)
    return bpmn.outcome(case_id, trace.completed)


def test_a_generated_form_is_the_task_form_with_its_role_and_assignee(bpmn: Conformance
                                                                       ) -> None:
    """The user task `review` is offered with the fields of its camunda:formData (types,
    options, bounds, required, default), to the role its camunda:candidateGroups names, and
    assigned to its camunda:assignee."""
    seen: list[Any] = []
    outcome = run(bpmn, modeler_file(), [Complete("review", {"amount": 10, "decision":
                                                             "reject"})], seen)
    view = seen[0]
    assert (view.task.step, view.task.role, view.task.assignee) == ("review", "reviewers",
                                                                     "amy")
    schema = view.schema
    assert schema["title"] == "Review claim" and schema["additionalProperties"] is False
    assert schema["required"] == ["amount", "decision"]
    fields = schema["properties"]
    assert fields["amount"] == {"title": "Amount (GBP)", "type": "integer", "minimum": 0,
                                "maximum": 100000}
    assert fields["decision"]["enum"] == ["approve", "reject"]
    assert fields["decision"]["x-pathways-labels"] == {"approve": "Approve",
                                                       "reject": "Reject"}
    assert fields["manager"] == {"title": "Manager to sign off", "type": "string",
                                 "minLength": 2, "maxLength": 40}
    assert fields["urgent"] == {"title": "Urgent", "type": "boolean", "default": False}
    assert fields["received"] == {"title": "Received on", "type": "string", "format": "date"}
    assert outcome.trace == ["start", "review", "rejected"]
    assert outcome.status == "completed"


@pytest.mark.parametrize(("answers", "problems"), [
    ({"decision": "approve"}, {"amount"}),
    ({"amount": -1, "decision": "maybe"}, {"amount", "decision"}),
    ({"amount": 2.5, "decision": "approve", "manager": "x"}, {"amount", "manager"}),
    ({"amount": 100001, "decision": "approve", "urgent": "yes", "received": "31/12/2024"},
     {"amount", "urgent", "received"}),
    ({"amount": 1, "decision": "approve", "colour": "red"}, {"colour"}),
])
def test_answers_are_checked_against_the_generated_form(bpmn: Conformance,
                                                        answers: dict[str, Any],
                                                        problems: set[str]) -> None:
    """Required fields, types, enum options, min/max and min/max length, as Camunda's form
    validation would; the task stays open."""
    with pytest.raises(FormValidationError) as refused:
        run(bpmn, modeler_file(), [Complete("review", answers)])
    assert set(refused.value.details["fields"]) == problems


def test_a_large_approved_claim_goes_to_the_manager_named_in_the_form(bpmn: Conformance
                                                                      ) -> None:
    """§13.4.2: the exclusive gateway takes the first flow whose condition is true; here the
    JUEL `${decision == 'approve' && amount > 1000}`. `sign_off` is assigned to the user the
    form's `manager` field holds (`camunda:assignee="${manager}"`)."""
    seen: list[Any] = []
    outcome = run(bpmn, modeler_file(), [
        Complete("review", {"amount": 5000, "decision": "approve", "manager": "bob",
                            "received": "2024-12-31"}),
        Complete("sign_off")], seen)
    sign_off = seen[1]
    assert (sign_off.task.step, sign_off.task.assignee, sign_off.task.role) == (
        "sign_off", "bob", None)
    assert outcome.trace == ["start", "review", "sign_off", "signed"]
    assert outcome.status == "completed"
    assert outcome.data["amount"] == 5000


def test_a_small_approved_claim_is_paid(bpmn: Conformance) -> None:
    """The second condition, in JUEL's word operators (`eq`, `and`, `not`, `gt`)."""
    outcome = run(bpmn, modeler_file(), [Complete("review", {"amount": 1000,
                                                             "decision": "approve"})])
    assert outcome.trace == ["start", "review", "paid"]
    assert outcome.status == "completed"


def test_a_form_field_left_empty_is_null_to_the_conditions_as_in_camunda(bpmn: Conformance
                                                                         ) -> None:
    """Camunda makes every field of a submitted form a variable, null when left empty; JUEL
    orders null below nothing (`null > 'm'` is false) and finds it `empty`: the claim whose
    `manager` was left empty takes the second flow, to `paid`."""
    outcome = run(bpmn, modeler_file(
        big="${manager &gt; 'm'}", small="${empty manager &amp;&amp; decision == 'approve'}"),
        [Complete("review", {"amount": 5000, "decision": "approve"})])
    assert outcome.trace == ["start", "review", "paid"]
    assert outcome.data["manager"] is None and "received" in outcome.data


def test_a_missing_property_of_a_record_is_null_as_in_juel(bpmn: Conformance) -> None:
    """JUEL reads a property a record lacks as null (`claim.total > 1000` false); the record
    here is one a script task wrote before the form."""
    files = with_script_first(modeler_file(big="${claim.total &gt; 1000}",
                                           small="${claim.kind == null}"), 'claim = {"id": 7}')
    outcome = run(bpmn, files, [Complete("review", {"amount": 5000, "decision": "approve"})])
    assert outcome.trace == ["start", "open", "review", "paid"]


def test_an_unassigned_assignee_variable_leaves_the_task_to_its_role(bpmn: Conformance
                                                                     ) -> None:
    """`${manager}` when the form left `manager` out: nobody is assigned (as Pathways does
    for an `assign` it cannot work out), the task stays open to be claimed."""
    seen: list[Any] = []
    outcome = run(bpmn, modeler_file(), [
        Complete("review", {"amount": 5000, "decision": "approve"}), Complete("sign_off")],
        seen)
    assert seen[1].task.assignee is None
    assert outcome.trace == ["start", "review", "sign_off", "signed"]


def with_script_first(files: dict[str, str], code: str) -> dict[str, str]:
    """The model with a script task `open` running `code` between the start and `review`."""
    files[MAIN_FILE] = files[MAIN_FILE].replace(
        '<bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="review" />',
        f'<bpmn:scriptTask id="open" scriptFormat="python"><bpmn:script>{code}'
        '</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="Flow_0" sourceRef="start" targetRef="open" />'
        '<bpmn:sequenceFlow id="Flow_1" sourceRef="open" targetRef="review" />', 1)
    return files


def test_a_readonly_field_shows_the_case_value_and_is_never_entered(bpmn: Conformance
                                                                    ) -> None:
    """Camunda's `readonly` constraint: the field shows the variable's value and is not
    submitted; Pathways gives it as a computed field reading that case data."""
    form = REVIEW_FORM.replace(
        "<camunda:formData>", '<camunda:formData><camunda:formField id="claimed" '
        'label="Claimed" type="long"><camunda:validation><camunda:constraint name="readonly"'
        " /></camunda:validation></camunda:formField>", 1)
    files = with_script_first(modeler_file(form=form), "claimed = 750")
    with pytest.raises(FormValidationError) as refused:
        run(bpmn, files, [Complete("review", {"amount": 1, "decision": "reject",
                                              "claimed": 1})])
    assert set(refused.value.details["fields"]) == {"claimed"}
    seen: list[Any] = []
    outcome = run(bpmn, files, [Complete("review", {"amount": 1, "decision": "reject"})],
                  seen)
    assert seen[0].schema["properties"]["claimed"] == {
        "title": "Claimed", "type": "integer", "readOnly": True,
        "x-pathways-computed": "claimed"}
    assert outcome.trace == ["start", "open", "review", "rejected"]
    assert outcome.data["claimed"] == 750


def test_a_single_candidate_user_is_the_assignee(bpmn: Conformance) -> None:
    seen: list[Any] = []
    run(bpmn, modeler_file(review='camunda:candidateUsers="carol"'),
        [Complete("review", {"amount": 1, "decision": "reject"})], seen)
    assert (seen[0].task.assignee, seen[0].task.role) == ("carol", None)


def test_a_lane_and_the_same_candidate_group_agree(bpmn: Conformance) -> None:
    files = modeler_file(review='camunda:candidateGroups="reviewers"')
    files[MAIN_FILE] = files[MAIN_FILE].replace(
        '<bpmn:startEvent id="start"',
        '<bpmn:laneSet id="lanes"><bpmn:lane id="reviewers" name="Reviewers">'
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start"', 1)
    seen: list[Any] = []
    run(bpmn, files, [Complete("review", {"amount": 1, "decision": "reject"})], seen)
    assert (seen[0].task.role, seen[0].task.assignee) == ("reviewers", None)


@pytest.mark.parametrize(("juel", "data", "taken"), [
    ("${x > 5}", {"x": 6}, "yes"), ("${x > 5}", {"x": 5}, "no"),
    ("${x > 5}", {"x": None}, "no"),
    ("${approved}", {"approved": True}, "yes"), ("${approved}", {"approved": None}, "no"),
    ("${a == 'b'}", {"a": "b"}, "yes"), ("${a == 'b'}", {"a": "c"}, "no"),
    ("${x gt 5 && !approved || a != 'c'}", {"x": 9, "approved": True, "a": "c"}, "no"),
    ("${x gt 5 && !approved || a != 'c'}", {"x": 9, "approved": False, "a": "c"}, "yes"),
    ("${approved == true}", {"approved": True}, "yes"),
    ("${not empty notes and notes ne 'none'}", {"notes": "late"}, "yes"),
    ("${not empty notes and notes ne 'none'}", {"notes": ""}, "no"),
])
def test_juel_conditions_choose_the_flow_juel_would(bpmn: Conformance, juel: str,
                                                    data: dict[str, Any], taken: str) -> None:
    """§13.4.2: the exclusive gateway takes the flow whose condition, a JUEL expression, is
    true as JUEL evaluates it (null ordered below nothing, read as false by `!`, `empty`),
    else its default."""
    files = model(process(
        start(), user("ask"), gateway("exclusive", "choose", default="choose-no"),
        script("yes"), script("no"), end("end_yes"), end("end_no"),
        flows("start>ask>choose", "yes>end_yes", "no>end_no"),
        flow("choose", "yes", cond=juel), flow("choose", "no")))
    outcome = bpmn.run(files, [Complete("ask", data)])
    assert outcome.trace == ["start", "ask", taken, f"end_{taken}"]
    assert outcome.status == "completed"


def test_a_form_key_naming_a_json_schema_of_the_bundle_is_the_task_form(bpmn: Conformance
                                                                        ) -> None:
    """`camunda:formKey="embedded:deployment:NAME.json"` names a form deployed with the
    model: a JSON Schema file published with the BPMN is that form."""
    files = modeler_file(review='camunda:formKey="embedded:deployment:review.schema.json"',
                         form="")
    files["review.schema.json"] = json.dumps({
        "type": "object", "properties": {"amount": {"type": "integer"},
                                         "decision": {"enum": ["approve", "reject"]}},
        "required": ["decision"]})
    seen: list[Any] = []
    with pytest.raises(FormValidationError):
        run(bpmn, files, [Complete("review", {"amount": 1})])
    outcome = run(bpmn, files, [Complete("review", {"amount": 1, "decision": "approve"})],
                  seen)
    assert seen[0].task.form == "review.schema.json"
    assert seen[0].schema["required"] == ["decision"]
    assert outcome.trace == ["start", "review", "paid"]


def test_a_form_key_naming_a_file_not_published_is_refused(bpmn: Conformance) -> None:
    files = modeler_file(review='camunda:formKey="deployment:review.schema.json"', form="")
    error = bpmn.refusal(files)
    assert (error.element, error.details["rule"], error.file) == ("review", "missing_form",
                                                                  MAIN_FILE)
    assert isinstance(error.line, int)


# -- refusals -----------------------------------------------------------------------------

def refused(bpmn: Conformance, files: dict[str, str], element: str, rule: str
            ) -> DefinitionError:
    error = bpmn.refusal(files)
    assert (error.element, error.details["rule"]) == (element, rule), error.details
    assert error.file == MAIN_FILE
    assert isinstance(error.line, int) and isinstance(error.column, int)
    return error


@pytest.mark.parametrize(("review", "reason"), [
    ('camunda:candidateGroups="reviewers,managers"', "several groups"),
    ('camunda:candidateGroups="${group}"', "expression"),
    ('camunda:candidateUsers="amy,bob"', "2 users"),
    ('camunda:assignee="${users.get(0)}"', "calls a method"),
    ('camunda:assignee="${a == b}"', "only a variable"),
    ('camunda:assignee="amy" camunda:candidateUsers="bob"', "together"),
    ('camunda:dueDate="${later}"', "due"),
    ('camunda:formKey="embedded:app:forms/review.html"', "cannot fetch a form"),
    ('camunda:formKey="camunda-forms:deployment:review.form"', "cannot fetch a form"),
    ('camunda:formKey="deployment:review.json"', "and camunda:formData"),
])
def test_people_and_form_keys_pathways_cannot_honour_are_refused(bpmn: Conformance,
                                                                  review: str,
                                                                  reason: str) -> None:
    error = refused(bpmn, modeler_file(review=review), "review",
                    "camunda_form" if "formKey" in review else "camunda_assignment")
    assert reason in error.reason


def test_a_candidate_group_other_than_the_lane_is_refused(bpmn: Conformance) -> None:
    files = modeler_file(review='camunda:candidateGroups="managers"')
    files[MAIN_FILE] = files[MAIN_FILE].replace(
        '<bpmn:startEvent id="start"',
        '<bpmn:laneSet id="lanes"><bpmn:lane id="reviewers">'
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start"', 1)
    assert "lane 'reviewers'" in refused(bpmn, files, "review", "camunda_assignment").reason


@pytest.mark.parametrize(("field", "reason"), [
    ('<camunda:formField id="photo" type="bytes" />', "type 'bytes'"),
    ('<camunda:formField id="n" type="long"><camunda:validation><camunda:constraint '
     'name="validator" config="org.example.Check" /></camunda:validation></camunda:formField>',
     "custom validator"),
    ('<camunda:formField id="n" type="string"><camunda:validation><camunda:constraint '
     'name="min" config="2" /></camunda:validation></camunda:formField>', "long fields"),
    ('<camunda:formField id="n" type="long" defaultValue="ten" />', "not a long value"),
    ('<camunda:formField id="n" type="long" defaultValue="${x}" />', "expression"),
    ('<camunda:formField id="kind" type="enum" />', "without camunda:value"),
    ('<camunda:formField id="pathways_x" type="string" />', "reserved"),
])
def test_form_fields_pathways_cannot_show_as_camunda_would_are_refused(
        bpmn: Conformance, field: str, reason: str) -> None:
    form = f"<bpmn:extensionElements><camunda:formData>{field}</camunda:formData>" \
           "</bpmn:extensionElements>"
    error = refused(bpmn, modeler_file(form=form), "review", "camunda_form")
    assert reason in error.reason


@pytest.mark.parametrize(("extension", "element", "reason"), [
    ('<camunda:taskListener class="org.example.Audit" event="create" />', "review",
     "pathwaysNotifyTo"),
    ("<camunda:inputOutput><camunda:inputParameter name=\"x\">1</camunda:inputParameter>"
     "</camunda:inputOutput>", "review", "dataInputAssociation"),
    ('<camunda:executionListener expression="${audit.log()}" event="end" />', "review",
     "camunda:executionListener"),
])
def test_other_camunda_extensions_that_change_what_runs_are_refused(
        bpmn: Conformance, extension: str, element: str, reason: str) -> None:
    """A listener, an input/output mapping: SpiffWorkflow would drop them and the case run
    differently from Camunda."""
    form = REVIEW_FORM.replace("<camunda:formData>", extension + "<camunda:formData>", 1)
    error = refused(bpmn, modeler_file(form=form), element, "camunda_extension")
    assert reason in error.reason


def test_a_start_initiator_variable_is_refused(bpmn: Conformance) -> None:
    files = modeler_file()
    files[MAIN_FILE] = files[MAIN_FILE].replace(
        '<bpmn:startEvent id="start"', '<bpmn:startEvent id="start" camunda:initiator="who"', 1)
    assert "who started" in refused(bpmn, files, "start", "camunda_extension").reason


def test_a_start_form_is_refused(bpmn: Conformance) -> None:
    files = modeler_file()
    files[MAIN_FILE] = files[MAIN_FILE].replace(
        '<bpmn:startEvent id="start" name="Claim made">',
        '<bpmn:startEvent id="start" name="Claim made"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="who" type="string" /></camunda:formData>'
        "</bpmn:extensionElements>", 1)
    assert "start" in refused(bpmn, files, "start", "camunda_form").reason


@pytest.mark.parametrize(("condition", "reason"), [
    ("${execution.getVariable('amount') &gt; 10}", "Camunda's own object"),
    ("${approver.isManager()}", "calls a method"),
    ("#{approved}", "deferred"),
    ("${amount + 10 &gt; 1000}", "computes (+)"),
])
def test_a_juel_condition_pathways_cannot_translate_is_refused(bpmn: Conformance,
                                                               condition: str,
                                                               reason: str) -> None:
    error = refused(bpmn, modeler_file(big=condition), "Flow_big", "juel_expression")
    assert reason in error.reason and "expression language" in error.reason

"""`sensitive:` on a step and on a pathway, and what is derived from sensitive fields.

A step, branch, referral or pathway whose existence reveals a health or offence fact is
sensitive: marked in the DSL (compiled to `spiffworkflow:property name="sensitive"` on the
element or the process, which hand-written BPMN uses too) or derived by the engine when the
bundle is parsed (engine.workflow.sensitivity.derive_sensitivity): a branch whose condition reads a
sensitive field, the steps inside it, the fields those steps set, a record step reading a
sensitive field, a refer step to a sensitive pathway (engine.access.privacy).
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.definition_files import pathway_name, publish_order, read_bundle
from dsl import compile as dsl_compile
from dsl import compile_pathway, validate
from engine.access.privacy import Redactor, Sensitivity
from engine.errors import DefinitionError
from engine.model import CaseRecord, Client, Event
from engine.workflow import definitions as engine_definitions
from engine.workflow.definitions import ParsedDefinition, parse_bundle
from tests.pathway_texts import WORK_DECISION

HEADER = """\
pathway: {pathway}
title: Demo
roles:
  worker: {{title: Worker}}
client_fields:
  diagnosis: {{type: text, sensitive: health}}
  phone: text
{extra}steps:
"""

ASSESS = """\
- task: assess
  role: worker
  title: Assess
  form:
    uses_drugs: {type: boolean, required: true, sensitive: health}
    convicted: {type: boolean, sensitive: offence}
    wants_work: {type: boolean, required: true}
"""


def source(steps: str, pathway: str = "demo", extra: str = "") -> str:
    return HEADER.format(pathway=pathway, extra=extra) + textwrap.indent(
        textwrap.dedent(steps), "  ")


def parsed(steps: str, pathway: str = "demo", extra: str = "") -> ParsedDefinition:
    text = source(steps, pathway, extra)
    document, problems = validate(text, "demo.yaml")
    assert problems == [], problems
    assert document is not None
    compiled = compile_pathway(document)
    return parse_bundle(compiled.files(), compiled.bpmn_file)


def test_the_property_name_is_the_engines() -> None:
    assert dsl_compile.SENSITIVE_PROPERTY == engine_definitions.SENSITIVE_PROPERTY


@pytest.mark.parametrize("step", [
    "- task: t\n  role: worker\n  title: T\n  sensitive: health\n",
    "- decide: d\n  sensitive: offence\n  branches: [{when: 'true', steps: []}]\n"
    "  otherwise: []\n",
    "- parallel: p\n  sensitive: health\n  branches: [{steps: [{record: a, outcome: a}]},"
    " {steps: [{record: b, outcome: b}]}]\n",
    "- wait: w\n  for: P1D\n  sensitive: health\n",
    "- repeat: r\n  max: 2\n  sensitive: health\n  steps:\n"
    "    - task: t\n      role: worker\n      title: T\n",
    "- refer: r\n  pathway: demo\n  sensitive: health\n",
    "- record: r\n  outcome: o\n  sensitive: health\n",
    "- notify: n\n  to: worker\n  message: M\n  sensitive: health\n",
    "- end: e\n  reason: done\n  sensitive: offence\n",
])
def test_every_step_kind_takes_sensitive_and_compiles_it_onto_its_element(step: str) -> None:
    definition = parsed(step)
    step_id = yaml.safe_load(step)[0]
    kind = next(k for k in ("task", "decide", "parallel", "wait", "repeat", "refer",
                            "record", "notify", "end") if k in step_id)
    category = step_id["sensitive"]
    assert definition.sensitive_steps[step_id[kind]] == category
    assert definition.sensitive_pathway is None


def test_a_pathway_takes_sensitive_on_its_process() -> None:
    text = source(ASSESS, extra="sensitive: health\n")
    document, problems = validate(text, "demo.yaml")
    assert problems == [] and document is not None
    compiled = compile_pathway(document)
    assert '<spiffworkflow:property name="sensitive" value="health"/>' in compiled.bpmn
    definition = parse_bundle(compiled.files(), compiled.bpmn_file)
    assert definition.sensitive_pathway == "health"


@pytest.mark.parametrize(("where", "text"), [
    ("step", ASSESS.replace("  title: Assess\n", "  title: Assess\n  sensitive: medical\n")),
    ("pathway", None),
])
def test_an_unknown_category_is_refused_where_it_is_written(where: str, text: str | None
                                                            ) -> None:
    full = source(ASSESS, extra="sensitive: secret\n") if text is None else source(text)
    _, problems = validate(full, "demo.yaml")
    assert len(problems) == 1, problems
    assert "health, offence" in problems[0].message
    assert problems[0].path == ("sensitive" if where == "pathway" else "steps[0].sensitive")


def test_a_bpmn_author_gets_the_same_from_the_property_and_a_bad_value_is_refused() -> None:
    compiled = compile_pathway(yaml.safe_load(source(ASSESS)))
    marked = compiled.bpmn.replace(
        '<spiffworkflow:property name="formJsonSchemaFilename"',
        '<spiffworkflow:property name="sensitive" value="offence"/>\n'
        '<spiffworkflow:property name="formJsonSchemaFilename"', 1)
    files = {**compiled.files(), compiled.bpmn_file: marked}
    assert parse_bundle(files, compiled.bpmn_file).sensitive_steps["assess"] == "offence"
    bad = {**files, compiled.bpmn_file: marked.replace('value="offence"', 'value="secret"')}
    with pytest.raises(DefinitionError) as err:
        parse_bundle(bad, compiled.bpmn_file)
    assert err.value.details.get("element") == "assess"


BRANCHED = ASSESS + """\
- decide: gw_drugs
  branches:
    - when: uses_drugs
      steps:
        - task: refer_drugs
          role: worker
          title: Refer to drug services
          form:
            provider: {type: text, required: true}
            note: {type: text, save_to: client.phone}
        - record: referred
          outcome: drugs_referred
  otherwise:
    - record: no_drugs
      outcome: no_drugs
- decide: gw_provider
  branches:
    - when: uses_drugs and provider == 'Aspire'
      steps:
        - notify: tell
          to: worker
          message: Aspire
  otherwise: []
""" + WORK_DECISION + """\
- task: close
  role: worker
  title: Close
"""


def test_a_branch_reading_a_sensitive_field_is_sensitive_with_its_steps_and_fields() -> None:
    definition = parsed(BRANCHED)
    steps = definition.sensitive_steps
    # the decision and both sides of it: which way it went tells the answer
    for element in ("gw_drugs", "refer_drugs", "referred", "no_drugs"):
        assert steps[element] == "health", element
    # what the sensitive step sets is sensitive, and so is what reads it (a cascade)
    assert definition.step_fields == {"provider": "health", "note": "health"}
    assert steps["gw_provider"] == "health" and steps["tell"] == "health"
    assert definition.sensitive_client() == {"diagnosis": "health", "phone": "health"}
    assert definition.sensitive_client(steps=False) == {"diagnosis": "health"}
    # what everyone reaches stays open
    for element in ("assess", "gw_drugs_merge", "gw_work", "refer_work", "close"):
        assert element not in steps, element


def test_a_marked_step_inside_an_open_branch_is_sensitive_alone() -> None:
    definition = parsed(BRANCHED.replace("          title: Refer to work\n",
                                         "          title: Refer to work\n"
                                         "          sensitive: offence\n"))
    assert definition.sensitive_steps["refer_work"] == "offence"
    assert "gw_work" not in definition.sensitive_steps
    assert "close" not in definition.sensitive_steps


def test_a_marked_decide_or_repeat_covers_the_steps_inside() -> None:
    definition = parsed(ASSESS + """\
- decide: gw
  sensitive: offence
  branches:
    - when: wants_work
      steps:
        - task: inside
          role: worker
          title: Inside
  otherwise: []
- repeat: rounds
  max: 2
  sensitive: health
  steps:
    - task: round_task
      role: worker
      title: Round
- task: after
  role: worker
  title: After
""")
    steps = definition.sensitive_steps
    assert steps["gw"] == steps["inside"] == "offence"
    assert steps["rounds"] == steps["round_task"] == "health"
    assert "after" not in steps


def test_a_record_step_whose_value_reads_a_sensitive_field_is_sensitive() -> None:
    definition = parsed(ASSESS + """\
- record: drugs_outcome
  outcome: uses
  value: uses_drugs
- record: plain
  outcome: assessed
""")
    assert definition.sensitive_steps == {"drugs_outcome": "health"}


def test_a_client_field_condition_counts_too() -> None:
    definition = parsed(ASSESS + """\
- decide: gw_diag
  branches:
    - when: diagnosis == 'x'
      steps:
        - notify: n
          to: worker
          message: M
  otherwise: []
""")
    assert definition.sensitive_steps["n"] == "health"


AT = datetime(2026, 1, 1, tzinfo=UTC)


def _case(pathway: str, data: dict[str, Any] | None = None,
          exit_reason: str | None = None) -> CaseRecord:
    return CaseRecord(id=1, pathway=pathway, version=1, client_id=1, status="active",
                      data=data or {}, state={}, exit_reason=exit_reason)


def test_a_referral_to_a_sensitive_pathway_is_sensitive_with_its_result() -> None:
    target = parsed(ASSESS, pathway="clinic", extra="sensitive: health\n")
    referring = parsed(ASSESS + """\
- refer: to_clinic
  pathway: clinic
  wait: true
- refer: to_demo
  pathway: demo
""")
    assert "to_clinic" not in referring.sensitive_steps  # it needs the other definition
    assert referring.referrals["to_clinic"] == "clinic"
    sensitivity = Sensitivity.of([("demo", 1, referring), ("clinic", 1, target)])
    assert sensitivity.step("demo", 1, "to_clinic") == "health"
    assert sensitivity.step("demo", 1, "to_clinic_done") == "health"
    assert sensitivity.step("demo", 1, "to_demo") is None
    assert sensitivity.step("clinic", 1, "assess") == "health"  # the whole pathway
    case = _case("demo", {"to_clinic_result": {"case": 2}, "uses_drugs": True,
                          "wants_work": False})
    redactor = Redactor(sensitivity, frozenset())
    shown = redactor.case(case)
    assert shown is not None
    assert shown.data == {"uses_drugs": "[hidden]", "wants_work": False}
    assert redactor.case(_case("clinic")) is None
    waiting = replace(case, waiting_for=["completed:clinic", "go"],
                      error={"step": "to_clinic", "message": "failed at to_clinic"})
    shown = redactor.case(waiting)
    assert shown is not None
    assert shown.waiting_for == ["go"] and shown.error == {"message": "[hidden]"}
    events = [Event(case_id=1, seq=n, type=kind, at=AT, actor=None, step=step, data=data)
              for n, (kind, step, data) in enumerate([
                  ("referral_made", "to_clinic", {"pathway": "clinic"}),
                  ("message_sent", None, {"name": "start:clinic"}),
                  ("decision", "gw", {"taken": ["to_clinic"]}),
                  ("task_completed", "assess", {"data": {"uses_drugs": True}}),
              ], start=1)]
    assert [(e.type, e.data) for e in redactor.events(case, events)] == [
        ("task_completed", {"data": {"uses_drugs": "[hidden]"}})]
    everything = Redactor(sensitivity, frozenset({"health", "offence"}))
    assert len(everything.events(case, events)) == 4


# assess, then the decision gw whose first branch ends the case (reason: rehab) for a client
# who uses drugs: the tests add the decision's other branches and `otherwise`
TO_REHAB = ASSESS + """\
- decide: gw
  branches:
    - when: uses_drugs
      steps:
        - end: to_rehab
          reason: rehab
"""


def test_an_exit_reason_only_a_sensitive_end_gives_is_left_out() -> None:
    definition = parsed(TO_REHAB + """\
    - when: wants_work
      steps:
        - record: work
          outcome: work
  otherwise: []
- end: done
  reason: completed
""")
    assert definition.sensitive_steps["to_rehab"] == definition.sensitive_steps["work"] \
        == "health"
    assert "done" not in definition.sensitive_steps  # the other branches meet before it
    redactor = Redactor(Sensitivity.of([("demo", 1, definition)]), frozenset())
    rehab = redactor.case(_case("demo", {"wants_work": True}, exit_reason="rehab"))
    done = redactor.case(_case("demo", {}, exit_reason="completed"))
    assert rehab is not None and rehab.data == {"wants_work": True}
    assert rehab.exit_reason is None
    assert done is not None and done.exit_reason == "completed"
    everything = Redactor(Sensitivity.of([("demo", 1, definition)]),
                          frozenset({"health", "offence"}))
    shown = everything.case(_case("demo", {}, exit_reason="rehab"))
    assert shown is not None and shown.exit_reason == "rehab"


def test_when_no_branches_meet_what_follows_the_decision_tells_the_answer() -> None:
    definition = parsed(TO_REHAB + """\
  otherwise: []
- task: later
  role: worker
  title: Later
""")
    assert definition.sensitive_steps["to_rehab"] == definition.sensitive_steps["later"] \
        == "health"
    assert "assess" not in definition.sensitive_steps


def test_a_case_data_filter_on_a_field_the_viewer_may_not_see_is_refused() -> None:
    definition = parsed(BRANCHED)
    sensitivity = Sensitivity.of([("demo", 1, definition)])
    case = _case("demo", {"uses_drugs": True, "provider": "Aspire", "wants_work": True,
                          "client": {"diagnosis": "x", "phone": "1"}})
    outsider = Redactor(sensitivity, frozenset({"offence"}))
    for dotted in ("uses_drugs", "provider", "client.diagnosis", "client.phone"):
        assert not outsider.field_visible(case, dotted), dotted
    assert outsider.field_visible(case, "wants_work")
    assert Redactor(sensitivity, frozenset({"health"})).field_visible(case, "provider")


def test_the_shipped_pathways_mark_or_derive_what_their_sensitive_fields_reveal() -> None:
    folder = Path(__file__).parents[3] / "definitions"
    order = publish_order(folder)
    known = {pathway_name(path) for path, _ in order}
    found = {path.name: parse_bundle(*read_bundle(path, known_pathways=known))
             for path, _ in order}
    substance = {"gw_refer_substance_misuse", "refer_substance_misuse"}
    mind = {"gw_mental_health_referral", "mental_health_referral_made"}
    for name in ("gate_reception.v1.yaml", "gate_reception.yaml"):
        steps = {s for s in found[name].sensitive_steps if not s.startswith("flow_")}
        assert steps == (substance | mind if name == "gate_reception.yaml" else substance)
        assert set(steps) <= {k for k, v in found[name].sensitive_steps.items()
                              if v == "health"}
        assert found[name].step_fields == {"substance_misuse_referral_made": "health",
                                           "substance_misuse_provider": "health"}
    assert found["mental_health_referral.yaml"].sensitive_pathway == "health"
    assert found["talking_therapies.yaml"].sensitive_pathway == "health"
    assert found["youth_justice_referral_order.yaml"].sensitive_pathway == "offence"
    order = found["youth_justice_referral_order.yaml"]
    assert order.sensitive_client(steps=False) == {}  # none declared, all its steps save
    assert order.sensitive_client() == {"order_date": "offence", "school_or_college": "offence"}
    assert found["talking_therapies.yaml"].sensitive_client() == {"gp_practice": "health"}
    assert found["housing_first.yaml"].sensitive_fields()["complex_needs"] == "health"
    for name in ("family_support.yaml", "housing_support.yaml", "employment_support.yaml",
                 "housing_first.yaml"):
        assert found[name].sensitive_steps == {} and found[name].sensitive_pathway is None


def test_a_client_field_a_sensitive_pathway_saves_is_left_out_for_those_who_may_not_see_it(
        ) -> None:
    """A pathway marked sensitive as a whole (a youth justice order) that saves a date to the
    client record: the field is sensitive like those a sensitive step saves, so a viewer
    without the category gets a record without it (its name alone, even as "[hidden]",
    would say the client has an order); the other fields stay."""
    document, problems = validate("""\
pathway: demo
title: Order
sensitive: offence
roles:
  worker: {title: Worker}
client_fields:
  order_date: date
  phone: text
steps:
  - task: order
    role: worker
    title: Order made
    form:
      order_date: {type: date, required: true, save_to: client.order_date}
      phone: {type: text, prefill: client.phone}
""", "demo.yaml")
    assert problems == [] and document is not None
    compiled = compile_pathway(document)
    definition = parse_bundle(compiled.files(), compiled.bpmn_file)
    assert definition.sensitive_pathway == "offence"
    assert definition.sensitive_client()["order_date"] == "offence"
    assert "order_date" not in definition.sensitive_client(steps=False)
    sensitivity = Sensitivity.of([("demo", 1, definition)])
    client = Client(id=1, name="Jo", fields={"order_date": "2026-03-02", "phone": "0700",
                                             "nickname": "J"})
    outsider = Redactor(sensitivity, frozenset({"health"})).client(client)
    assert outsider.fields == {"nickname": "J"}
    assert Redactor(sensitivity, frozenset({"offence"})).client(client).fields == client.fields

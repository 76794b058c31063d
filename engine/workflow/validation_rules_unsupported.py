"""Publish rules on BPMN constructs SpiffWorkflow 3.2 reads but runs silently wrong, refused
with what to do instead (issue 16: run a construct as BPMN 2.0.2 says, or refuse it):

- a multi-instance activity that throws events as its instances complete (`behavior` None or
  One with its event, a `complexBehaviorDefinition`): SpiffWorkflow ignores behavior and
  throws nothing, so whatever waits for those events would wait for ever;
- an event subprocess inside an embedded subprocess: SpiffWorkflow wires event subprocesses
  only at process level, so a nested one is never set off by its event (a message for it
  is kept for nobody, and the subprocess completes as if it had no handler);
- a conditional event Pathways does not run (engine.workflow.validation_rules_conditional:
  those it runs, engine.workflow.conditional_events, evaluate their condition as the data
  changes);
- the complex gateway, which SpiffWorkflow does not parse at all (refused first, so its
  reason is the one reported).
"""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument, owner_id
from engine.workflow.validation_rules_conditional import check_conditional_events

_BEHAVIOR_EVENT = {"None": "noneBehaviorEventRef", "One": "oneBehaviorEventRef"}


def check_unsupported(document: BpmnDocument) -> None:
    """Refuse the first use of a construct Pathways would run silently wrong."""
    for characteristics in document.all("multiInstanceLoopCharacteristics"):
        _check_behavior(document, characteristics)
    for container in document.all("subProcess"):
        _check_nested_event_subprocess(document, container)
    check_conditional_events(document)


def _check_behavior(document: BpmnDocument, characteristics: Any) -> None:
    activity = owner_id(characteristics)
    behavior = characteristics.get("behavior", "All")
    reference = _BEHAVIOR_EVENT.get(behavior)
    complex_definition = characteristics.find(f"{{{BPMN_NS}}}complexBehaviorDefinition")
    if complex_definition is not None:
        what = "a complexBehaviorDefinition (events thrown as its conditions hold)"
    elif reference is not None and characteristics.get(reference):
        what = (f'behavior="{behavior}" with {reference} (an event thrown as instances '
                "complete)")
    else:
        return  # All (the default) or a behaviour that throws nothing: runs as BPMN says
    raise document.refuse(
        characteristics, "multi_instance_behavior",
        f"multi-instance activity {activity!r} has {what}: Pathways does not throw a "
        "multi-instance activity's behaviour events (SpiffWorkflow ignores them, so what "
        "waits for them would wait for ever); remove it, and act on the instances' results "
        "with a completionCondition or with steps after the activity",
        attribute="behavior", value=behavior)


def _check_nested_event_subprocess(document: BpmnDocument, event_subprocess: Any) -> None:
    if event_subprocess.get("triggeredByEvent") != "true":
        return
    parent = event_subprocess.getparent()
    if parent is None or local_name(parent) == "process":
        return
    enclosing = parent.get("id")
    raise document.refuse(
        event_subprocess, "nested_event_subprocess",
        f"event subprocess {event_subprocess.get('id')!r} is inside {local_name(parent)} "
        f"{enclosing!r}: Pathways runs event subprocesses only at process level (inside a "
        "subprocess its event would never start it); attach a boundary event with the "
        f"same trigger to {enclosing!r} instead "
        "(non-interrupting for a non-interrupting one), or move the event subprocess to "
        "the process", enclosing=enclosing)


def check_complex_gateways(document: BpmnDocument) -> None:
    """Constructs Pathways does not run, refused before any other rule so the first reason
    is the one that matters. The complex gateway (BPMN 2.0.2 §10.6.5, §13.3.5): as a join it
    fires when its activationCondition over the tokens holds and absorbs the later ones, as a
    split it takes its true conditions or its default; SpiffWorkflow 3.2 has no parser for it
    (it failed with a bare "no support implemented for this task type")."""
    for element in document.all("complexGateway"):
        raise document.refuse(
            element, "complex_gateway",
            f"complexGateway {element.get('id')!r}: Pathways does not run complex gateways "
            "(BPMN 2.0.2 §13.3.5); as a split use an inclusive gateway with the same "
            "conditions and default, as a join a parallel gateway (wait for every branch) or "
            "an inclusive gateway (wait for the branches started); a join that goes on after "
            "some of its branches (an activationCondition such as _activationCount >= 2) "
            "cannot be modelled in Pathways")

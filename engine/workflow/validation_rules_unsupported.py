"""Publish rules on BPMN constructs SpiffWorkflow 3.2 reads but runs silently wrong, refused
with what to do instead (issue 16: run a construct as BPMN 2.0.2 says, or refuse it):

- a conditional event (intermediate catch, boundary, start): SpiffWorkflow evaluates its
  condition on the data its scope started with, so a condition that becomes true later, on
  an answer given meanwhile, never sets it off.
"""

from __future__ import annotations

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument
from engine.workflow.validation_rules_multi_instance import check_multi_instance_behavior

_EVENT_KINDS = ("startEvent", "intermediateCatchEvent", "boundaryEvent")


def check_unsupported(document: BpmnDocument) -> None:
    """Refuse the first use of a construct Pathways would run silently wrong."""
    for characteristics in document.all("multiInstanceLoopCharacteristics"):
        check_multi_instance_behavior(document, characteristics)  # runs: only malformed
    _check_conditional_events(document)


def _check_conditional_events(document: BpmnDocument) -> None:
    shared = {str(d.get("id")) for d in document.all("conditionalEventDefinition")
              if d.get("id") and local_name(d.getparent()) == "definitions"}
    for kind in _EVENT_KINDS:
        for event in document.all(kind):
            refs = {(ref.text or "").strip()
                    for ref in event.iterfind(f"{{{BPMN_NS}}}eventDefinitionRef")}
            if event.find(f"{{{BPMN_NS}}}conditionalEventDefinition") is None \
                    and not refs & shared:
                continue
            raise document.refuse(
                event, "conditional_event",
                f"{kind} {event.get('id')!r} is a conditional event: Pathways does not run "
                "conditional events (SpiffWorkflow checks the condition only on the data "
                "its scope started with, so a condition that becomes true later, on an "
                "answer given meanwhile, would never set it off); decide on the data as it "
                "is with an exclusive gateway, or wait for a message sent when the answer "
                "is given (in the DSL, a block handler with `when:`)")


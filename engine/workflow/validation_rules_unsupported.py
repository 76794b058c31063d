"""Publish rules on BPMN constructs SpiffWorkflow 3.2 reads but runs silently wrong, refused
with what to do instead (issue 16: run a construct as BPMN 2.0.2 says, or refuse it):

- a malformed multi-instance behaviour (engine.workflow.validation_rules_multi_instance: the
  behaviours Pathways runs throw their events, engine.workflow.multi_instance);
- a conditional event Pathways does not run (engine.workflow.validation_rules_conditional:
  those it runs, engine.workflow.conditional_events, evaluate their condition as the data
  changes).
"""

from __future__ import annotations

from engine.workflow.validation_document import BpmnDocument
from engine.workflow.validation_rules_conditional import check_conditional_events
from engine.workflow.validation_rules_multi_instance import check_multi_instance_behavior


def check_unsupported(document: BpmnDocument) -> None:
    """Refuse the first use of a construct Pathways would run silently wrong."""
    for characteristics in document.all("multiInstanceLoopCharacteristics"):
        check_multi_instance_behavior(document, characteristics)  # runs: only malformed
    check_conditional_events(document)

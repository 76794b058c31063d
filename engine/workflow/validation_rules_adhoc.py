"""Publish rules for ad-hoc subprocesses (BPMN 2.0.2 §10.3.5), which Pathways runs
(engine.workflow.adhoc): what the specification forbids inside one, and what Pathways would
not wire there, refused with the element named. Its completionCondition's syntax is checked
with every other expression (validation_rules_values.check_code)."""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import ACTIVITIES, BpmnDocument


def check_adhoc(document: BpmnDocument, element: Any) -> None:
    """No start or end event inside (§10.3.5), no event subprocess, link event or pre/post
    script (not wired), an activity to offer, and no empty completionCondition."""
    for child in element:
        if local_name(child) in ("startEvent", "endEvent"):
            raise document.refuse(child, "adhoc_start_or_end_event",
                                  f"{local_name(child)} {child.get('id')!r} is inside ad-hoc "
                                  f"subprocess {element.get('id')!r}: an ad-hoc subprocess "
                                  "has no start or end events (its activities without an "
                                  "incoming flow are offered when it starts)")
        link = child.find(f"{{{BPMN_NS}}}linkEventDefinition")
        if child.get("triggeredByEvent") == "true" or link is not None:
            what = "an event subprocess" if link is None else "a link event"
            raise document.refuse(child, "adhoc_content_not_supported",
                                  f"{local_name(child)} {child.get('id')!r} is {what} inside "
                                  f"ad-hoc subprocess {element.get('id')!r}: Pathways does "
                                  "not run one there; put it in the process around it")
    for script in element.iterfind(f"{{{BPMN_NS}}}extensionElements/*"):
        if local_name(script) in ("preScript", "postScript"):
            raise document.refuse(script, "adhoc_content_not_supported",
                                  f"a {local_name(script)} on ad-hoc subprocess "
                                  f"{element.get('id')!r} would not run: put the script in "
                                  "a script task before or after it")
    targets = {flow.get("targetRef") for flow in element.iterfind(f"{{{BPMN_NS}}}sequenceFlow")}
    if not any(local_name(child) in ACTIVITIES and child.get("id") not in targets
               for child in element):
        raise document.refuse(element, "adhoc_without_activity",
                              f"ad-hoc subprocess {element.get('id')!r} has no activity "
                              "without an incoming sequence flow: nothing would be offered "
                              "when it starts")
    condition = element.find(f"{{{BPMN_NS}}}completionCondition")
    if condition is not None and not (condition.text or "").strip():
        raise document.refuse(element, "adhoc_empty_completion",
                              f"ad-hoc subprocess {element.get('id')!r} has an empty "
                              "completionCondition: write the condition, or remove it to "
                              "have the caseworker finish the subprocess")

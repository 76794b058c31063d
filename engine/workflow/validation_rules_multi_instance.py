"""Publish rules on a multi-instance activity's behaviour (BPMN 2.0.2 §10.3.7, Tables 10.27
and 10.28), which Pathways runs (engine.workflow.multi_instance): a behaviour must name
what it throws, and throw what an activity can throw.

Refused, naming the activity: a noneBehaviorEventRef or oneBehaviorEventRef that names no
event definition; a behaviour event Pathways cannot throw from an activity (only signal,
message and escalation definitions: an error, a timer, a conditional, a link, a
terminate, cancel or compensation definition is not an event an activity instance throws
as it completes); a complexBehaviorDefinition without a condition; and a behaviour event or
complexBehaviorDefinition the `behavior` attribute makes BPMN ignore (a noneBehaviorEventRef
with behavior="One", a complexBehaviorDefinition without behavior="Complex"), since the
modeller surely meant it to throw; an escalation no boundary event on the activity catches
each time it is thrown (see _check_escalation_caught).
"""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.multi_instance import BEHAVIOR_REFS, THROWABLE
from engine.workflow.validation_document import BpmnDocument, owner_id

_RULE = "multi_instance_behavior"
_COMPLEX = f"{{{BPMN_NS}}}complexBehaviorDefinition"


def check_multi_instance_behavior(document: BpmnDocument, characteristics: Any) -> None:
    """Refuse the first malformed behaviour of this multiInstanceLoopCharacteristics."""
    activity = str(owner_id(characteristics))
    behavior = characteristics.get("behavior", "All")
    for said, attribute in BEHAVIOR_REFS.items():
        ref = characteristics.get(attribute)
        if ref is None:
            continue
        if said != behavior:
            raise _ignored(document, characteristics, activity, behavior, attribute)
        _check_definition(document, characteristics, activity, attribute,
                          _by_id(document, ref), ref)
    for definition in characteristics.iterfind(_COMPLEX):
        if behavior != "Complex":
            raise _ignored(document, definition, activity, behavior,
                           "a complexBehaviorDefinition")
        _check_complex(document, definition, activity)


def _check_complex(document: BpmnDocument, definition: Any, activity: str) -> None:
    condition = definition.find(f"{{{BPMN_NS}}}condition")
    if condition is None or not (condition.text or "").strip():
        raise document.refuse(
            definition, _RULE,
            f"complexBehaviorDefinition {definition.get('id')!r} of multi-instance activity "
            f"{activity!r} has no condition: BPMN 2.0.2 Table 10.28 requires one (when it "
            "holds as an instance completes, its event is thrown); add a condition",
            activity=activity)
    for event in definition.iterfind(f"{{{BPMN_NS}}}event"):
        for element in event:
            if not isinstance(element.tag, str):
                continue
            if local_name(element) == "eventDefinitionRef":
                ref = (element.text or "").strip()
                _check_definition(document, element, activity, "eventDefinitionRef",
                                  _by_id(document, ref), ref)
            elif local_name(element).endswith("EventDefinition"):
                _check_definition(document, element, activity, "event", element, None)


def _check_definition(document: BpmnDocument, at: Any, activity: str, attribute: str,
                      definition: Any, ref: str | None) -> None:
    if definition is None or not local_name(definition).endswith("EventDefinition"):
        raise document.refuse(
            at, _RULE,
            f"multi-instance activity {activity!r}: {attribute} {ref!r} names no event "
            "definition (BPMN 2.0.2 §10.3.7: it names the EventDefinition the behaviour "
            "throws); name the id of a signal, message or escalation event definition",
            activity=activity, attribute=attribute, value=ref)
    kind = local_name(definition)
    if kind not in THROWABLE:
        raise document.refuse(
            at, _RULE,
            f"multi-instance activity {activity!r} would throw a {kind} as its instances "
            "complete: Pathways throws only signal, message and escalation events from a "
            "multi-instance behaviour (an activity instance does not throw an error, timer, "
            "conditional, link, terminate, cancel or compensation event as it completes)",
            activity=activity, attribute=attribute, value=kind)
    if kind == "escalationEventDefinition":
        _check_escalation_caught(document, at, activity, definition)


def _check_escalation_caught(document: BpmnDocument, at: Any, activity: str,
                             definition: Any) -> None:
    """An escalation a behaviour throws must be caught on the activity, by a boundary event
    (interrupting: it ends the activity at the first throw; non-interrupting: it stays armed
    while the activity runs, engine.workflow.rearming). Without one a throw would go
    uncaught, silently (an uncaught escalation is an incident elsewhere)."""
    thrown = definition.get("escalationRef")
    for boundary in document.all("boundaryEvent"):
        if boundary.get("attachedToRef") != activity:
            continue
        for caught in boundary.iterfind(f"{{{BPMN_NS}}}escalationEventDefinition"):
            if caught.get("escalationRef") in (None, thrown):
                return
    raise document.refuse(
        at, _RULE,
        f"multi-instance activity {activity!r} throws an escalation as its instances "
        "complete, and no boundary event on it catches them: attach an escalation "
        "boundary event to it (non-interrupting to go on after each throw), or throw a "
        "signal instead (a non-interrupting event subprocess started by it runs for each "
        "throw)",
        activity=activity)


def _ignored(document: BpmnDocument, at: Any, activity: str, behavior: str,
             what: str) -> Any:
    return document.refuse(
        at, _RULE,
        f"multi-instance activity {activity!r} has {what} but behavior={behavior!r}: BPMN "
        "2.0.2 §10.3.7 ignores it then, so nothing would be thrown; set behavior to "
        '"None" (noneBehaviorEventRef, thrown as each instance completes), "One" '
        '(oneBehaviorEventRef, thrown as the first completes) or "Complex" '
        "(complexBehaviorDefinition), or remove it", activity=activity, behavior=behavior)


def _by_id(document: BpmnDocument, element_id: str) -> Any:
    return next((e for e in document.root.iter()
                 if isinstance(e.tag, str) and e.get("id") == element_id), None)

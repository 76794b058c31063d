"""Event subprocesses in a process that a call activity calls: refused, located.

BPMN 2.0.2 §10.3.5 / §13.5.4: an event subprocess is active while its parent process runs,
so one in a called process starts when its message, signal, error or escalation occurs while
the call runs. SpiffWorkflow 3.2 starts event subprocesses from the top process's start task
only (EventManager.update_collaboration reads `workflow.spec.start.trigger_specs` of the case's
own process): in a called process a message start is never waited for (a message sent for
it is kept for ever, the case never says it waits), and an error thrown there is reported as
caught by nothing. Until Pathways runs them, publish refuses them (rule
`called_event_subprocess`), naming the start event and the call, with what to model instead.
A timer start is not refused here: SpiffWorkflow wires it to the called process's start.
"""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument

_TRIGGERS = frozenset({"messageEventDefinition", "signalEventDefinition",
                       "errorEventDefinition", "escalationEventDefinition"})


def check_called_event_subprocesses(documents: list[BpmnDocument]) -> None:
    """Refuse an event subprocess started by a message, signal, error or escalation in a
    process of the bundle that a call activity calls (the pathway's own process too, when
    it calls itself)."""
    callers: dict[str, Any] = {}
    for document in documents:
        for call in document.all("callActivity"):
            callers.setdefault(str(call.get("calledElement")), call)
    for document in documents:
        definitions = {str(e.get("id")): e for e in document.root if isinstance(e.tag, str)}
        for process in document.all("process"):
            caller = callers.get(str(process.get("id")))
            if caller is None:
                continue
            for start in _triggered_starts(process, definitions):
                raise document.refuse(
                    start, "called_event_subprocess",
                    f"event subprocess {start.getparent().get('id')!r} of process "
                    f"{process.get('id')!r}, which call activity {caller.get('id')!r} calls: "
                    "Pathways starts an event subprocess started by a message, signal, error "
                    "or escalation only in the pathway's own process (SpiffWorkflow 3.2 never "
                    "starts it in a called process); put a boundary event on the call activity, "
                    "or make the called process an embedded subprocess",
                    process=process.get("id"), call=caller.get("id"))


def _triggered_starts(process: Any, definitions: dict[str, Any]) -> list[Any]:
    """The start events of the process's event subprocesses a message, signal, error or
    escalation triggers (written inside, or named by an eventDefinitionRef)."""
    found = []
    for child in process:
        if not isinstance(child.tag, str) or local_name(child) != "subProcess" \
                or child.get("triggeredByEvent") != "true":
            continue
        for start in child.iterchildren(f"{{{BPMN_NS}}}startEvent"):
            kinds = {local_name(d) for d in start if isinstance(d.tag, str)}
            kinds |= {local_name(definitions[ref.text.strip()])
                      for ref in start.iterchildren(f"{{{BPMN_NS}}}eventDefinitionRef")
                      if ref.text and ref.text.strip() in definitions}
            if kinds & _TRIGGERS:
                found.append(start)
    return found

"""A small writer of BPMN text for the conformance cases: each case spells out its elements
and flows in a line or two each, not the XML around them.

Every user task gets a form that takes any object (`{"type": "object"}`), so a command may
complete it with data; `model()` returns the files to publish (the BPMN file and those forms).
Flows are written as chains: `flows("start>a>b>end")` is three sequence flows (ids
`start-a`, `a-b`, `b-end`); `flow("g", "b", cond="x > 1")` one with a condition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import pairwise

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
PROCESS = "conformance"
MAIN_FILE = f"{PROCESS}.bpmn"
_ANY_OBJECT = json.dumps({"type": "object"})


def _attrs(**attributes: str | None) -> str:
    return "".join(f' {key.rstrip("_")}="{value}"' for key, value in attributes.items()
                   if value is not None)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- events definitions -------------------------------------------------------------------

def timer(duration: str) -> str:
    """A duration timer (`"PT1H"`: the quotes are part of the expression)."""
    return (f"<bpmn:timerEventDefinition><bpmn:timeDuration>{_escape(duration)}"
            "</bpmn:timeDuration></bpmn:timerEventDefinition>")


def message(ref: str) -> str:
    return f'<bpmn:messageEventDefinition messageRef="message_{ref}"/>'


def signal(ref: str) -> str:
    return f'<bpmn:signalEventDefinition signalRef="signal_{ref}"/>'


def error(ref: str) -> str:
    return f'<bpmn:errorEventDefinition errorRef="error_{ref}"/>'


def escalation(ref: str) -> str:
    return f'<bpmn:escalationEventDefinition escalationRef="escalation_{ref}"/>'


def terminate() -> str:
    return "<bpmn:terminateEventDefinition/>"


def link(name: str) -> str:
    return f'<bpmn:linkEventDefinition name="{name}"/>'


# -- declarations (children of bpmn:definitions) ------------------------------------------

def declare(kind: str, *names: str) -> str:
    """`<bpmn:message id="message_n" name="n"/>` (or signal, error, escalation) per name:
    the event definitions above refer to them by name."""
    code = {"error": "errorCode", "escalation": "escalationCode"}.get(kind)
    return "".join(f'<bpmn:{kind} id="{kind}_{name}" name="{name}"'
                   + (f' {code}="{name}"' if code else "") + "/>" for name in names)


# -- flow nodes ---------------------------------------------------------------------------

def start(node: str = "start", event: str = "", **attributes: str | None) -> str:
    return f'<bpmn:startEvent id="{node}"{_attrs(**attributes)}>{event}</bpmn:startEvent>'


def end(node: str = "end", event: str = "") -> str:
    return f'<bpmn:endEvent id="{node}">{event}</bpmn:endEvent>'


def user(node: str, inside: str = "") -> str:
    """A user task with a form that takes any object."""
    return (f'<bpmn:userTask id="{node}"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="{_form(node)}"/>'
            f"</spiffworkflow:properties></bpmn:extensionElements>{inside}</bpmn:userTask>")


def script(node: str, code: str = "pass", inside: str = "") -> str:
    return (f'<bpmn:scriptTask id="{node}">{inside}<bpmn:script>{_escape(code)}</bpmn:script>'
            "</bpmn:scriptTask>")


def gateway(kind: str, node: str, default: str | None = None) -> str:
    """kind: exclusive, inclusive, parallel, eventBased, complex."""
    return f'<bpmn:{kind}Gateway id="{node}"{_attrs(default=default)}/>'


def catch(node: str, event: str) -> str:
    return f'<bpmn:intermediateCatchEvent id="{node}">{event}</bpmn:intermediateCatchEvent>'


def throw(node: str, event: str) -> str:
    return f'<bpmn:intermediateThrowEvent id="{node}">{event}</bpmn:intermediateThrowEvent>'


def boundary(node: str, attached_to: str, event: str, *, interrupting: bool = True) -> str:
    return (f'<bpmn:boundaryEvent id="{node}" attachedToRef="{attached_to}"'
            f' cancelActivity="{str(interrupting).lower()}">{event}</bpmn:boundaryEvent>')


def subprocess(node: str, *body: str, event_triggered: bool = False) -> str:
    flag = ' triggeredByEvent="true"' if event_triggered else ""
    return f'<bpmn:subProcess id="{node}"{flag}>{"".join(body)}</bpmn:subProcess>'


def call(node: str, called: str) -> str:
    return f'<bpmn:callActivity id="{node}" calledElement="{called}"/>'


def multi_instance(*, sequential: bool, cardinality: str | None = None,
                   collection: str | None = None, element: str | None = None,
                   completion: str | None = None) -> str:
    """multiInstanceLoopCharacteristics, to put inside a task or subprocess."""
    inner = ""
    if cardinality is not None:
        inner += f"<bpmn:loopCardinality>{_escape(cardinality)}</bpmn:loopCardinality>"
    if collection is not None:
        inner += f"<bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>"
    if element is not None:
        inner += f'<bpmn:inputDataItem id="{element}" name="{element}"/>'
    if completion is not None:
        inner += f"<bpmn:completionCondition>{_escape(completion)}</bpmn:completionCondition>"
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
            f"{inner}</bpmn:multiInstanceLoopCharacteristics>")


# -- sequence flows -----------------------------------------------------------------------

def flow(source: str, target: str, *, cond: str | None = None, flow_id: str | None = None
         ) -> str:
    body = ("" if cond is None else
            f'<bpmn:conditionExpression>{_escape(cond)}</bpmn:conditionExpression>')
    return (f'<bpmn:sequenceFlow id="{flow_id or f"{source}-{target}"}" sourceRef="{source}"'
            f' targetRef="{target}">{body}</bpmn:sequenceFlow>')


def flows(*chains: str) -> str:
    """Sequence flows along each chain `a>b>c` (ids `a-b`, `b-c`)."""
    out = []
    for chain in chains:
        nodes = chain.split(">")
        out += [flow(source, target) for source, target in pairwise(nodes)]
    return "".join(out)


# -- the model ----------------------------------------------------------------------------

def process(*body: str, process_id: str = PROCESS) -> str:
    return f'<bpmn:process id="{process_id}" isExecutable="true">{"".join(body)}</bpmn:process>'


def model(*parts: str, declarations: Iterable[str] = ()) -> dict[str, str]:
    """The files to publish: the BPMN file (definitions holding `declarations` and `parts`,
    one or more processes, the first being the pathway) and a form per user task."""
    text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}"'
            f' xmlns:spiffworkflow="{SPIFF_NS}" id="conformance_definitions"'
            ' targetNamespace="https://pathways.example/conformance">'
            f'{"".join(declarations)}{"".join(parts)}</bpmn:definitions>\n')
    files = {MAIN_FILE: text}
    for node in re.findall(r'<bpmn:userTask id="([^"]+)"', text):
        files[_form(node)] = _ANY_OBJECT
    return files


def _form(node: str) -> str:
    return f"{PROCESS}.{node}.schema.json"

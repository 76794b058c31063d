# ruff: noqa: E501  (BPMN elements read best one to a line)
"""Small BPMN and DSL pathways that end in incidents: an uncaught BPMN error or escalation,
and a `wait until:` on a client date that may be empty (shared by unit, integration and e2e
tests)."""

from __future__ import annotations

from typing import Any

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'id="incident_defs" targetNamespace="https://pathways.example/tests">\n'
         '  <bpmn:error id="err_funding" name="Funding refused" errorCode="E42"/>\n'
         '  <bpmn:escalation id="esc_manager" name="Needs a manager" escalationCode="ESC1"/>\n')
_THROWS = {
    "error": '<bpmn:errorEventDefinition errorRef="err_funding"/>',
    "escalation": '<bpmn:escalationEventDefinition escalationRef="esc_manager"/>',
    "none": "",
}


def thrower(kind: str) -> dict[str, str]:
    """check (a user task), then the end event `fail` throwing an error or an escalation
    (`kind` "none": the same end event, plain: the fixed version)."""
    text = _HEAD + f"""  <bpmn:process id="incident" name="Incident" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>f2</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="fail"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return {"incident.bpmn": text}


def caught_by_boundary(kind: str) -> dict[str, str]:
    """The subprocess `sub` (check, then `fail` throwing) with a boundary event catching what
    it throws, leading to the user task `handle`."""
    text = _HEAD + f"""  <bpmn:process id="incident" name="Incident" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sub" name="Sub"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="check" name="Check"><bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>s2</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="check"/>
      <bpmn:sequenceFlow id="s2" sourceRef="check" targetRef="fail"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:outgoing>f3</bpmn:outgoing>{_THROWS[kind]}</bpmn:boundaryEvent>
    <bpmn:userTask id="handle" name="Handle"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="handled"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="handle"/>
    <bpmn:sequenceFlow id="f4" sourceRef="handle" targetRef="handled"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return {"incident.bpmn": text}


def uncaught_in_subprocess() -> dict[str, str]:
    """caught_by_boundary("error") without its boundary event: the error thrown inside the
    subprocess `sub` is caught by nothing."""
    text = caught_by_boundary("error")["incident.bpmn"]
    start = text.index("    <bpmn:boundaryEvent")
    end = text.index("</bpmn:boundaryEvent>\n") + len("</bpmn:boundaryEvent>\n")
    text = text[:start] + text[end:]
    # without the boundary event nothing leads to `handle`, which publish refuses: drop it
    text = "".join(line for line in text.splitlines(keepends=True)
                   if not any(f'id="{gone}"' in line for gone in ("f3", "handle", "handled", "f4")))
    return {"incident.bpmn": text}


def caught_by_event_subprocess() -> dict[str, str]:
    """check, then `fail` throwing the error, caught by an error event subprocess whose
    user task is `handle`."""
    text = _HEAD + f"""  <bpmn:process id="incident" name="Incident" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>f2</bpmn:incoming>{_THROWS["error"]}</bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="fail"/>
    <bpmn:subProcess id="on_error" triggeredByEvent="true">
      <bpmn:startEvent id="error_start"><bpmn:outgoing>e1</bpmn:outgoing>{_THROWS["error"]}</bpmn:startEvent>
      <bpmn:userTask id="handle" name="Handle"><bpmn:incoming>e1</bpmn:incoming><bpmn:outgoing>e2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="handled"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="e1" sourceRef="error_start" targetRef="handle"/>
      <bpmn:sequenceFlow id="e2" sourceRef="handle" targetRef="handled"/>
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>
"""
    return {"incident.bpmn": text}


def dated_wait(default: str | None = None) -> dict[str, Any]:
    """A DSL pathway: intake, wait until the client's release date, then follow up. With
    `default`, the wait falls back to that date when the client has none (the fixed version)."""
    until = "release_date" if default is None else \
        (f'release_date if "release_date" in client and release_date '
                     f'else date("{default}")')
    return {
        "pathway": "dated_wait", "title": "Dated wait",
        "roles": {"worker": {"title": "Worker"}},
        "client_fields": {"release_date": "date"},
        "steps": [
            {"task": "intake", "role": "worker", "title": "Intake",
             "form": {"notes": {"type": "text"}}},
            {"wait": "until_release", "until": until},
            {"task": "follow_up", "role": "worker", "title": "Follow up"},
        ],
    }

# ruff: noqa: E501  (BPMN elements read best one to a line)
"""Small BPMN and DSL pathways that end in incidents: an uncaught BPMN error or escalation,
and a `wait until:` on a client date that may be empty (shared by unit, integration and e2e
tests)."""

from __future__ import annotations

from typing import Any

from tests.bpmn_text import CLOSE, flows, handling_event_subprocess

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
""" + flows("f1:start>check f2:check>fail") + CLOSE
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
""" + flows("s1:sub_start>check s2:check>fail", indent="      ") + f"""    </bpmn:subProcess>
    <bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:outgoing>f3</bpmn:outgoing>{_THROWS[kind]}</bpmn:boundaryEvent>
    <bpmn:userTask id="handle" name="Handle"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="handled"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>sub f2:sub>done f3:caught>handle f4:handle>handled") + CLOSE
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


def caught_by_event_subprocess(kind: str = "error", *, catches: str = "code",
                               interrupting: bool = True, thrown_from: str = "end") -> dict[str, str]:
    """check, then a throw of the error (or escalation), caught by an event subprocess
    `on_throw` whose user task is `handle`.

    catches: "code" (the start event names the thrown error), "any" (no errorRef /
    escalationRef: catches every code) or "other" (names another code: catches nothing).
    thrown_from: "end" (the script task `note` sets `noted`, then the end event `fail`
    throws), "parallel" (the same, with the user
    task `beside` on a parallel branch), "choice" (after check, only a client whose name
    starts with "Refused" goes to `fail`; the others end at `done`), "intermediate" (escalations only: the intermediate
    throw event `raise` throws, then the user task `after`) or "subprocess" (check, `note`
    and `fail` are inside the embedded subprocess `sub`)."""
    other = ('  <bpmn:error id="err_other" name="Other" errorCode="E99"/>\n'
             '  <bpmn:escalation id="esc_other" name="Other" escalationCode="ESC9"/>\n')
    ref = {"code": {"error": "err_funding", "escalation": "esc_manager"}[kind],
           "other": {"error": "err_other", "escalation": "esc_other"}[kind], "any": None}[catches]
    tag = {"error": "errorEventDefinition", "escalation": "escalationEventDefinition"}[kind]
    attribute = {"error": "errorRef", "escalation": "escalationRef"}[kind]
    catch = f'<bpmn:{tag} {attribute}="{ref}"/>' if ref else f"<bpmn:{tag}/>"
    flag = "" if interrupting else ' isInterrupting="false"'
    if thrown_from == "subprocess":
        main = f"""    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sub" name="Sub"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="check" name="Check"><bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>
      <bpmn:scriptTask id="note" name="Note"><bpmn:incoming>s2</bpmn:incoming><bpmn:outgoing>s3</bpmn:outgoing><bpmn:script>noted = "before the throw"</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>s3</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
""" + flows("s1:sub_start>check s2:check>note s3:note>fail", indent="      ") + """    </bpmn:subProcess>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>sub f2:sub>done")
    elif thrown_from == "parallel":
        main = f"""    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>f4</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
    <bpmn:userTask id="beside" name="Beside"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>split f2:split>check f3:split>beside f4:check>fail f5:beside>done")
    elif thrown_from == "choice":
        main = f"""    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="refused" default="f4"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>f3</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
    <bpmn:endEvent id="done"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>check f2:check>refused") + """\
    <bpmn:sequenceFlow id="f3" sourceRef="refused" targetRef="fail"><bpmn:conditionExpression>client["name"].startswith("Refused")</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="refused" targetRef="done"/>
"""
    elif thrown_from == "intermediate":
        main = f"""    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateThrowEvent id="raise" name="Raise"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>{_THROWS[kind]}</bpmn:intermediateThrowEvent>
    <bpmn:userTask id="after" name="After"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>check f2:check>raise f3:raise>after f4:after>done")
    else:
        main = f"""    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="note" name="Note"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>noted = "before the throw"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="fail" name="Fail"><bpmn:incoming>f3</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>
""" + flows("f1:start>check f2:check>note f3:note>fail")
    text = _HEAD + other + f"""  <bpmn:process id="incident" name="Incident" isExecutable="true">
{main}    <bpmn:subProcess id="on_throw" triggeredByEvent="true">
""" + handling_event_subprocess("throw_start", start_attributes=flag, catch=catch,
                                handle_title="Handle") + CLOSE
    return {"incident.bpmn": text}


def rethrown_by_event_subprocess(kind: str) -> dict[str, str]:
    """caught_by_event_subprocess(kind), whose event subprocess runs the script task
    `handle` and then throws the same error (or escalation) again from its end event
    `handled`: caught by nothing at the process level."""
    text = caught_by_event_subprocess(kind)["incident.bpmn"]
    text = text.replace(
        '<bpmn:userTask id="handle" name="Handle"><bpmn:incoming>e1</bpmn:incoming><bpmn:outgoing>e2</bpmn:outgoing></bpmn:userTask>',
        '<bpmn:scriptTask id="handle" name="Handle"><bpmn:incoming>e1</bpmn:incoming><bpmn:outgoing>e2</bpmn:outgoing><bpmn:script>handled_once = True</bpmn:script></bpmn:scriptTask>')
    text = text.replace(
        '<bpmn:endEvent id="handled"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>',
        f'<bpmn:endEvent id="handled"><bpmn:incoming>e2</bpmn:incoming>{_THROWS[kind]}</bpmn:endEvent>')
    return {"incident.bpmn": text}


def caught_by_boundary_and_event_subprocess(kind: str) -> dict[str, str]:
    """caught_by_boundary(kind) (the boundary leads to `handle`) plus a process-level event
    subprocess catching the same throw, whose user task is `es_handle`."""
    text = caught_by_boundary(kind)["incident.bpmn"]
    catcher = caught_by_event_subprocess(kind)["incident.bpmn"]
    start = catcher.index('    <bpmn:subProcess id="on_throw"')
    end = catcher.index("  </bpmn:process>")
    event_subprocess = catcher[start:end]
    for name in ("handle", "handled"):
        event_subprocess = event_subprocess.replace(f'"{name}"', f'"es_{name}"')
    extra = catcher[catcher.index('  <bpmn:error id="err_other"'):catcher.index("  <bpmn:process")]
    text = text.replace("  <bpmn:process", extra + "  <bpmn:process", 1)
    return {"incident.bpmn": text.replace("  </bpmn:process>", event_subprocess + "  </bpmn:process>")}


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

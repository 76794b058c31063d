"""Pieces of BPMN text that the hand-written test pathways share, so that each pathway
spells out only what makes it different (its tasks and events), not the sequence flows and
closing tags every one of them has."""

from __future__ import annotations

CLOSE = "  </bpmn:process>\n</bpmn:definitions>\n"
SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


def flows(spec: str, indent: str = "    ") -> str:
    """One sequenceFlow line per `id:source>target` item of `spec` (items apart by spaces)."""
    lines = []
    for item in spec.split():
        flow_id, route = item.split(":")
        source, target = route.split(">")
        lines.append(f'{indent}<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" '
                     f'targetRef="{target}"/>\n')
    return "".join(lines)


def handling_event_subprocess(start: str, *, start_attributes: str, catch: str,
                              handle_title: str) -> str:
    """The inside of an event subprocess, and its closing tag: the start event `start`
    catches `catch` and leads to the user task `handle` (titled `handle_title`), then to the
    end event `handled`."""
    return (
        f'      <bpmn:startEvent id="{start}"{start_attributes}><bpmn:outgoing>e1</bpmn:outgoing>'
        f"{catch}</bpmn:startEvent>\n"
        f'      <bpmn:userTask id="handle" name="{handle_title}"><bpmn:incoming>e1</bpmn:incoming>'
        "<bpmn:outgoing>e2</bpmn:outgoing></bpmn:userTask>\n"
        '      <bpmn:endEvent id="handled"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>\n'
        + flows(f"e1:{start}>handle e2:handle>handled", indent="      ")
        + "    </bpmn:subProcess>\n")


def one_form_task(process: str, task: str, form: str, *, process_title: str = "",
                  task_title: str = "", attribute: str = "formJsonSchemaFilename") -> str:
    """A pathway of one user task `task` whose form is the file `form` (the property named
    `attribute`), between the events `start` and `end`."""
    process_name = f' name="{process_title}"' if process_title else ""
    task_name = f' name="{task_title}"' if task_title else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    {SPIFF} id="d"
    targetNamespace="https://pathways.example/tests">
  <bpmn:process id="{process}"{process_name} isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{task}"{task_name}>
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="{attribute}" value="{form}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
""" + flows(f"f1:start>{task} f2:{task}>end") + CLOSE

"""One BPMN file as the publish checks (engine.workflow.validation) read it: its tree, the element
kinds the rules speak of, and located refusals (file, line, column, element, rule)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from engine.errors import DefinitionError
from engine.workflow.bpmn_xml import BPMN_NS, local_name, parse_xml

GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                      "eventBasedGateway", "complexGateway"})
DECISIONS = frozenset({"exclusiveGateway", "inclusiveGateway", "complexGateway"})
ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask",
                        "sendTask", "receiveTask", "businessRuleTask", "callActivity",
                        "subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent",
                    "intermediateThrowEvent", "boundaryEvent"})
CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
FLOW_NODES = GATEWAYS | ACTIVITIES | EVENTS


def column_of(lines: list[str], line: int | None, element: Any) -> int | None:
    """1-based column of the element's start tag on its line (lxml gives lines only)."""
    if line is None or not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    element_id = element.get("id")
    if element_id:
        at = text.find(f'id="{element_id}"')
        if at < 0:
            at = text.find(f"id='{element_id}'")
        if at >= 0:
            start = text.rfind("<", 0, at)
            return (start if start >= 0 else at) + 1
    tag = re.search(rf"<(\w+:)?{re.escape(local_name(element))}\b", text)
    return tag.start() + 1 if tag else None


def owner_id(element: Any) -> str | None:
    """The id of the element itself or of its nearest ancestor that has one."""
    while element is not None:
        if isinstance(element.tag, str) and element.get("id"):
            return str(element.get("id"))
        element = element.getparent()
    return None


class BpmnDocument:
    """One BPMN file: its tree and how to make a located refusal about an element of it."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = text.splitlines()
        self.root = parse_xml(text, file)

    def refuse(self, element: Any, rule: str, message: str, **details: Any) -> DefinitionError:
        line = element.sourceline if element is not None else None
        return DefinitionError(message, file=self.file, line=line,
                               column=column_of(self.lines, line, element),
                               element=owner_id(element) if element is not None else None,
                               details={"rule": rule, **details})

    def all(self, local: str) -> Iterator[Any]:
        yield from self.root.iter(f"{{{BPMN_NS}}}{local}")

    def containers(self) -> Iterator[Any]:
        """Every process and subprocess: each is its own graph in BPMN."""
        yield from self.root.iter(*(f"{{{BPMN_NS}}}{c}" for c in CONTAINERS))

    def ids(self) -> set[str]:
        return {str(e.get("id")) for e in self.root.iter()
                if isinstance(e.tag, str) and e.get("id")}

"""Link events: an intermediate throw event with a linkEventDefinition goes on at the
intermediate catch event with the link of the same name in the same process or subprocess.

BPMN 2.0.2 §10.5.4 calls a pair of link events a "virtual" sequence flow (a go-to on the
same process level). SpiffWorkflow 3.2 does not know linkEventDefinition: it parsed the
throw as an event that throws nothing, with no outgoing flow, so the case ended there as
"completed", and never even parsed the catch event (no sequence flow leads to it). The
process parser below parses each catch a parsed throw links to and connects the two, as a
sequence flow would. Publish refuses a thrown link with no catch of its name
(engine.workflow.validation_rules_flow).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.parser.process import SpiffProcessParser

from engine.workflow.bpmn_xml import BPMN_NS

_LINK = f"{{{BPMN_NS}}}linkEventDefinition"


def _links(node: Any, kind: str) -> list[tuple[str, Any]]:
    """(link name, event) of each `kind` event directly in this process or subprocess."""
    return [(definition.get("name"), event)
            for event in node.iterfind(f"{{{BPMN_NS}}}{kind}")
            for definition in event.iterfind(_LINK)]


class LinkingProcessParser(SpiffProcessParser):  # type: ignore[misc]
    """SpiffWorkflow's process parser, going on from each link throw to its catch."""

    def add_tasks(self) -> None:
        super().add_tasks()
        catches: dict[str, Any] = {}
        for name, event in _links(self.node, "intermediateCatchEvent"):
            catches.setdefault(name, event)
        linked: set[str] = set()
        while True:  # a catch's path may throw another link
            pending = [(event, catches[name])
                       for name, event in _links(self.node, "intermediateThrowEvent")
                       if name in catches and event.get("id") in self.spec.task_specs
                       and event.get("id") not in linked]
            if not pending:
                return
            for throw, catch in pending:
                linked.add(throw.get("id"))
                self.spec.task_specs[throw.get("id")].connect(self.parse_node(catch))

"""Event definitions shared through eventDefinitionRef.

BPMN 2.0.2 §10.5.1: an event's trigger may be an event definition declared once at the top
of the definitions and named by `<bpmn:eventDefinitionRef>`. SpiffWorkflow 3.2 reads only the
definitions inside the event, so it took such an event for one with no trigger: a timer or
message catch event went on at once, silently. Before SpiffWorkflow parses a file, each
reference is replaced (in the parser's copy of the XML, not in the published file) by a copy
of the definition it names; a reference to nothing is refused at publish
(engine.workflow.validation_rules_flow checks references).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS

_REF = f"{{{BPMN_NS}}}eventDefinitionRef"


def inline_event_definition_refs(root: Any) -> None:
    """Replace each eventDefinitionRef under `root` (a bpmn:definitions element) by a copy of
    the top-level event definition it names, without its id (ids stay unique)."""
    shared = {child.get("id"): child for child in root
              if isinstance(child.tag, str) and child.tag.endswith("EventDefinition")}
    for ref in list(root.iter(_REF)):
        definition = shared.get((ref.text or "").strip())
        if definition is None:
            continue
        copy = deepcopy(definition)
        copy.attrib.pop("id", None)
        copy.tail = ref.tail
        ref.getparent().replace(ref, copy)

"""A pathway version's BPMN diagram as one viewer of one case may see it.

The diagram is the pathway's, the same for every client; but a step's name can say what the
client's record may not ("Refer to substance misuse services"), and the case page marks where
the case has been. So what a viewer may not see (engine.access.privacy's hidden steps,
gateways and flows, and names of sensitive pathways or messages) loses its name and gets an
opaque id (`hidden_1`, ...; every reference to it follows), and everything the viewer's
drawing does not need goes for everyone: extension elements (forms, properties naming the
pathway a step refers to), documentation, conditions and scripts, attributes of other
namespaces. What is left is shapes, edges, lanes and the names that may be shown.

Pure: BPMN text in, BPMN text out (lxml, as engine.workflow reads definitions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.workflow.bpmn_xml import BPMN_NS, local_name, parse_xml

_KEPT_NAMESPACES = frozenset({
    BPMN_NS, "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC", "http://www.omg.org/spec/DD/20100524/DI"})
# BPMN elements whose content is logic or notes, never drawn
_DROPPED = frozenset({"extensionElements", "documentation", "conditionExpression", "script",
                      "completionCondition", "loopCardinality", "text"})
_MIN_PART = 4  # an id shorter than this is not looked for inside other ids and names


@dataclass
class Diagram:
    """The redacted BPMN text, the ids and names left on it (element id -> name), the
    pathway's title (its process's name) and how many elements were made anonymous."""

    text: str
    ids: frozenset[str] = frozenset()
    names: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    hidden: int = 0


def _namespace(tag: Any) -> str:
    return str(tag)[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") \
        else ""


def _strip(root: Any) -> None:
    """Drop what is not drawn: other namespaces' elements and attributes, logic, notes."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str):  # a comment or processing instruction
            element.getparent().remove(element)
            continue
        if element is not root and (_namespace(element.tag) not in _KEPT_NAMESPACES or (
                _namespace(element.tag) == BPMN_NS and local_name(element) in _DROPPED)):
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
            continue
        for key in [k for k in element.attrib if k.startswith("{")]:
            del element.attrib[key]


def _marked(root: Any, hides_id: Callable[[str], bool], hides_name: Callable[[str], bool]
            ) -> tuple[list[str], set[str]]:
    """The ids of the elements the viewer may not see, and the names to take off."""
    ids: list[str] = []
    names: set[str] = set()
    for element in root.iter():
        ident, name = element.get("id"), element.get("name")
        named_hidden = name is not None and hides_name(name)
        if ident and (hides_id(ident) or hides_name(ident) or named_hidden):
            ids.append(ident)
            if name:
                names.add(name)
        elif name is not None and named_hidden:
            names.add(name)
    return ids, names


def _hidden_ids(root: Any, hides_id: Callable[[str], bool],
                hides_name: Callable[[str], bool]) -> tuple[list[str], set[str]]:
    """The ids to make anonymous (in document order) and the names to take off: those
    marked, and any id or name that spells one of them out."""
    ids, names = _marked(root, hides_id, hides_name)
    parts = [p.lower() for p in (*ids, *names) if len(p) >= _MIN_PART]
    for element in root.iter():
        ident, name = element.get("id"), element.get("name")
        if ident and ident not in ids and any(p in ident.lower() for p in parts):
            ids.append(ident)
        if name and any(p in name.lower() for p in parts):
            names.add(name)
    return ids, names


def _rename(root: Any, opaque: dict[str, str], names: set[str]) -> None:
    """Take the names off and give the hidden ids their opaque ones, references too."""
    for element in root.iter():
        if element.get("name") in names:
            del element.attrib["name"]
        for key, value in element.attrib.items():
            if value in opaque:
                element.set(key, opaque[value])
        if element.text and element.text.strip() in opaque:
            element.text = opaque[element.text.strip()]


def _title(root: Any, pathway: str) -> str | None:
    """The name of the pathway's process (its id is the pathway), else the first one's."""
    processes = root.findall(f"{{{BPMN_NS}}}process")
    main = next((p for p in processes if p.get("id") == pathway),
                processes[0] if processes else None)
    return None if main is None else main.get("name")


def redact(text: str, file: str, hides_id: Callable[[str], bool],
           hides_name: Callable[[str], bool], pathway: str) -> Diagram:
    """The diagram of a definition's main BPMN file (text, named file) without what
    hides_id (an element id) or hides_name (a name) says the viewer may not see."""
    root = parse_xml(text, file)
    _strip(root)
    ids, names = _hidden_ids(root, hides_id, hides_name)
    opaque = {ident: f"hidden_{number}" for number, ident in enumerate(ids, 1)}
    _rename(root, opaque, names)
    shown = {str(e.get("id")): str(e.get("name")) for e in root.iter()
             if e.get("id") and e.get("name")}
    kept = frozenset(str(e.get("id")) for e in root.iter()
                     if e.get("id") and str(e.get("id")) not in opaque.values())
    return Diagram(etree.tostring(root, encoding="unicode"), kept, shown,
                   _title(root, pathway), len(ids))

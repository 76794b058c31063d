"""Reading BPMN XML with lxml: the namespaces, a located refusal of text that is not XML, and
the small lookups every reader of a definition's XML needs (an element's local name, its
`spiffworkflow:properties`)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.errors import DefinitionError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def parse_xml(text: str, file: str) -> Any:
    """The document's root element; DefinitionError at the line and column where the text
    stops being well-formed XML."""
    try:
        return etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as err:
        line, column = err.position if err.position else (None, None)
        raise DefinitionError(f"not well-formed XML: {err.msg}", file=file, line=line,
                              column=column, details={"rule": "xml"}) from err


def local_name(element: Any) -> str:
    """The tag without its namespace ("" for a comment or processing instruction)."""
    tag = element.tag
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def spiff_properties(element: Any) -> dict[str, str]:
    """Name -> value of the element's own `spiffworkflow:property` extensions."""
    found: dict[str, str] = {}
    for prop in element.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/"
                                 f"{{{SPIFF_NS}}}property"):
        name, value = prop.get("name"), prop.get("value")
        if name and value is not None:
            found[name] = value
    return found

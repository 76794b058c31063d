"""The files of a bundle: its content hash, the names a definition may give the files it uses
(plain names inside the bundle's folder, nothing else), and the files and processes a BPMN
document names."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import DefinitionError
from engine.workflow.bpmn_xml import BPMN_NS, SPIFF_NS, parse_xml
from engine.workflow.definition_model import FORM_PROPERTIES


def bundle_hash(files: Mapping[str, str]) -> str:
    """Content hash of a bundle: the same files give the same hash, whatever their order."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# A file a definition names is a relative path inside the bundle's own folder: segments of
# letters, digits, '.', '_' and '-' (not starting with '.'), joined by '/'. Anything else
# (absolute paths, '..', backslashes, drive letters, '%2e%2e', NUL) is refused at publish, so
# a definition can never make the publisher read a file from elsewhere on the machine.
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
MAX_FILE_NAME = 200


def file_name_problem(name: str) -> str | None:
    """Why a file name a definition uses is not a plain name inside its folder, or None."""
    if not name:
        return "is empty"
    if len(name) > MAX_FILE_NAME:
        return f"is longer than {MAX_FILE_NAME} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character (such as NUL)"
    if name.startswith(("/", "~")):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if re.match(r"[A-Za-z]:", name):
        return "names a drive"
    if "%" in name:
        return "contains '%' (encoded names are not accepted)"
    segments = name.split("/")
    if any(segment in ("..", ".") for segment in segments):
        return "leaves the bundle's folder ('..' or '.')"
    if not all(_SAFE_SEGMENT.fullmatch(segment) for segment in segments):
        return ("may only use letters, digits, '.', '_', '-' and '/' (and no part may start "
                "with '.')")
    return None


@dataclass(frozen=True)
class FileReference:
    """A file named by a BPMN element: where, by which attribute, and the name."""

    name: str
    attribute: str
    element: str | None
    line: int | None
    column: int | None


def file_references(bpmn_text: str, file: str = "<bpmn>") -> list[FileReference]:
    """Every file a BPMN document names (form and UI schemas), in document order."""
    root = parse_xml(bpmn_text, file)
    lines = bpmn_text.splitlines()
    found: list[FileReference] = []
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        attribute, value = prop.get("name"), prop.get("value")
        if attribute not in FORM_PROPERTIES or value is None:
            continue
        owner = prop.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        line = prop.sourceline
        column = None
        if line is not None and 0 < line <= len(lines):
            at = lines[line - 1].find("value=")
            column = at + 8 if at >= 0 else None  # inside the quote
        found.append(FileReference(value, attribute, owner.get("id") if owner is not None
                                   else None, line, column))
    return found


def check_file_references(bpmn_text: str, file: str = "<bpmn>") -> list[FileReference]:
    """The document's file references, each a plain name inside the bundle's folder;
    DefinitionError naming the element and attribute otherwise."""
    references = file_references(bpmn_text, file)
    for ref in references:
        problem = file_name_problem(ref.name)
        if problem is not None:
            raise refused_reference(ref, file, f"{problem}; a definition may only name files "
                                               "inside its own folder")
    return references


def refused_reference(ref: FileReference, file: str, problem: str) -> DefinitionError:
    """The located error for a file reference that cannot be used."""
    return DefinitionError(f"{ref.attribute} {ref.name!r} {problem}", file=file, line=ref.line,
                           column=ref.column, element=ref.element,
                           details={"attribute": ref.attribute, "value": ref.name})


def referenced_files(bpmn_text: str, file: str = "<bpmn>") -> list[str]:
    """File names of the forms a BPMN document refers to, in document order, without repeats."""
    names: list[str] = []
    for ref in check_file_references(bpmn_text, file):
        if ref.name and ref.name not in names:
            names.append(ref.name)
    return names


def called_elements(bpmn_text: str, file: str = "<bpmn>") -> tuple[set[str], set[str]]:
    """(process ids defined in the document, process ids its call activities call)."""
    root = parse_xml(bpmn_text, file)
    defined = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    return {d for d in defined if d}, {c for c in called if c}

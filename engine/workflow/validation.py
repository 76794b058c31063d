"""Refuse at publish time every model that could never start or would crash a case later.

SpiffWorkflow's parser accepts many models its run time then chokes on with a raw Python
exception (an element named `Start` replaces its internal start task, a timer `'hello'` fails
only when reached, a negative `loopMaximum` or an ad-hoc subprocess without a completion
condition fails when the case gets there). Publish therefore checks, in this order:

1. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema), itself: SpiffWorkflow's parser
   applies the same schema but reports no element and no column;
2. the semantic rules below, on the XML (so every refusal has its line and element);
3. (after parse_bundle) a dry run: the workflow is built and its state serialized and read
   back through engine.workflow.state, nothing is run (no script, no condition, no timer).

Every refusal is a DefinitionError with file, line, column (where known), element and
`details["rule"]`, a stable name of the rule broken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.errors import DefinitionError, EngineError
from engine.workflow.bpmn_xml import BPMN_NS, SPIFF_NS
from engine.workflow.camunda import translate_expressions
from engine.workflow.compensation import DEFAULT_SUFFIX
from engine.workflow.complex_gateway import check_activation_conditions
from engine.workflow.definitions import (
    FORM_PROPERTY,
    ParsedDefinition,
    file_references,
)
from engine.workflow.recursion import check_call_cycles
from engine.workflow.sandbox import SandboxScriptEngine
from engine.workflow.spec_cache import parsed_once, passed_publishing, remember_publishable
from engine.workflow.state import dump_state, load_state
from engine.workflow.validation_document import BpmnDocument, column_of, owner_id
from engine.workflow.validation_rules_elements import check_elements
from engine.workflow.validation_rules_flow import check_container, check_event_references
from engine.workflow.validation_rules_foreign import check_foreign
from engine.workflow.validation_rules_unsupported import check_unsupported
from engine.workflow.validation_rules_values import (
    check_activity,
    check_code,
    check_due,
    check_task_expressions,
    check_timers,
    due_problem,
    timer_problem,
)

# the rules' own checks, offered here as they always were
__all__ = ["check_bundle", "check_offline", "dry_run", "due_problem", "in_yaml_source",
           "publishable", "timer_problem"]

# Task spec names SpiffWorkflow creates itself (bpmn_process_spec.py, TaskParser.py): an
# element with one of these ids silently replaces the internal task.
RESERVED_IDS = frozenset({"Start", "End", "Root"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", ".ImplicitSplit",
                     DEFAULT_SUFFIX)


def check_bundle(files: Mapping[str, str], main_file: str, *,
                 resolve_calls: bool = True) -> None:
    """Refuse (DefinitionError) the first BPMN file of the bundle that breaks the XSD or a
    semantic rule, main file first. Without resolve_calls, a call to a process the bundle
    does not hold is let pass (it may be published already: checking offline)."""
    names = sorted((n for n in files if n.endswith(".bpmn")), key=lambda n: n != main_file)
    documents = [BpmnDocument(name, files[name]) for name in names]
    processes = {str(p.get("id")) for d in documents for p in d.all("process")}
    for document in documents:
        _check_schema(document)
        _check_semantics(document)
        _check_references(document, files, processes if resolve_calls else None)
    check_call_cycles(documents)


def check_offline(files: Mapping[str, str], main_file: str) -> None:
    """The checks `pathways validate` can make without a database: the XSD and semantic rules
    (not the dry run, which needs the processes a bundle calls), refused where publish would
    refuse, in the YAML for a compiled DSL file."""
    try:
        check_bundle(files, main_file, resolve_calls=False)
    except DefinitionError as err:
        located = in_yaml_source(files, err)
        if located is None:
            raise
        raise located from err


def _check_references(document: BpmnDocument, files: Mapping[str, str],
                      processes: set[str] | None) -> None:
    """Forms and called processes the bundle must hold, located (parse_bundle names only
    the file)."""
    for ref in file_references(document.text, document.file):
        if ref.attribute == FORM_PROPERTY and ref.name not in files:
            raise DefinitionError(f"user task form {ref.name!r} not found next to the BPMN "
                                  "file", file=document.file, line=ref.line, column=ref.column,
                                  element=ref.element,
                                  details={"rule": "missing_form", "value": ref.name})
    for call in document.all("callActivity"):
        called = call.get("calledElement")
        if called and processes is not None and called not in processes:
            raise document.refuse(call, "unknown_called_process",
                                  f"call activity {call.get('id')!r} calls process "
                                  f"{called!r}, which is neither in the bundle nor published; "
                                  "publish it first or put it in the same file",
                                  value=called)


def _check_schema(document: BpmnDocument) -> None:
    """The BPMN 2.0 XSD with SpiffWorkflow's extensions, refused with line and element."""
    schema = VALIDATOR.validator
    tree = etree.fromstring(document.text.encode("utf-8"))
    VALIDATOR.preprocess(tree)  # the same preparation SpiffWorkflow's parser applies
    if schema.validate(tree):
        return
    error = schema.error_log.filter_from_errors()[0] if schema.error_log.filter_from_errors() \
        else schema.error_log.last_error
    at = _xsd_error_element(document, error)
    message = re.sub(r"\{http://www\.omg\.org/spec/BPMN/20100524/MODEL\}", "bpmn:",
                     error.message)
    message = message.replace(f"{{{SPIFF_NS}}}", "spiffworkflow:")
    raise DefinitionError(
        f"not valid BPMN 2.0 (XSD): {message}", file=document.file, line=error.line or None,
        column=_xsd_error_column(document, error, at),
        element=owner_id(at) if at is not None else None, details={"rule": "xsd"})


def _xsd_error_element(document: BpmnDocument, error: Any) -> Any:
    """The element the XSD error is about: the one it names on its line, else the line's
    first (None when no element starts there)."""
    on_line = [e for e in document.root.iter() if isinstance(e.tag, str)
               and e.sourceline == error.line]
    named = re.match(r"Element '([^']+)'", error.message)
    return next((e for e in on_line if named and e.tag == named.group(1)),
                on_line[0] if on_line else None)


def _xsd_error_column(document: BpmnDocument, error: Any, at: Any) -> int | None:
    if error.column and error.column > 1:
        return int(error.column)
    return column_of(document.lines, error.line, at) if at is not None else None


def _check_semantics(document: BpmnDocument) -> None:
    # Camunda's translatable ${...} conditions read as the Python that will run (those left
    # untranslated are refused by check_foreign)
    translate_expressions(document.root)
    ids: dict[str, Any] = {}
    for element in document.root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if not element_id:
            continue
        if element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES):
            raise document.refuse(
                element, "reserved_id",
                f"the id {element_id!r} is reserved: SpiffWorkflow names its own internal "
                "tasks Start, End, Root, *.EndJoin, *.BoundaryEventSplit and "
                "*.BoundaryEventJoin, and Pathways an activity's outgoing flows "
                "*.ImplicitSplit and a subprocess's compensation *.DefaultCompensation; "
                "rename the element")
        ids.setdefault(element_id, element)  # (a repeated id is refused by the XSD)
    check_foreign(document)
    check_elements(document)
    for container in document.containers():
        check_container(document, container)
    for element in document.root.iter():
        if not isinstance(element.tag, str):
            continue
        check_activity(document, element)
    check_timers(document)
    check_due(document)
    check_task_expressions(document)
    check_code(document)
    check_activation_conditions(document)
    _check_intermediate_throws(document)
    check_event_references(document, ids)
    check_unsupported(document)


def _check_intermediate_throws(document: BpmnDocument) -> None:
    """An intermediate throw event throws no BPMN error: BPMN allows an error only on an end
    event (the throw ends its path), and SpiffWorkflow's parser drops the definition, so the
    event would silently throw nothing and the case go on as if all were well."""
    for event in document.all("intermediateThrowEvent"):
        for definition in event.iterfind(f"{{{BPMN_NS}}}errorEventDefinition"):
            raise document.refuse(
                definition, "error_intermediate_throw",
                f"intermediateThrowEvent {event.get('id')!r} throws a BPMN error, which BPMN "
                "allows only on an end event (here it would throw nothing): use an error "
                "end event, or an escalation to go on after the throw")

def dry_run(parsed: ParsedDefinition) -> None:
    """Build a case of the definition and round-trip its state through engine.workflow.state,
    running nothing (no script, condition or timer): what fails here would fail every case."""
    engine = SandboxScriptEngine()
    try:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        state = dump_state(workflow)
        load_state(state, parsed, engine)
    except EngineError as err:
        raise DefinitionError(f"a case of this definition cannot be created: {err.message}",
                              file=parsed.main_file, details={"rule": "dry_run"}) from err
    except Exception as err:
        raise DefinitionError(f"a case of this definition cannot be created: "
                              f"{type(err).__name__}: {_text(err)}", file=parsed.main_file,
                              details={"rule": "dry_run"}) from err


def _text(err: BaseException) -> str:
    try:
        return str(err)[:300]
    except Exception:
        return repr(err.args)[:300]


def publishable(files: Mapping[str, str], main_file: str) -> ParsedDefinition:
    """The bundle parsed, once it passed every check above; DefinitionError otherwise,
    pointing at the DSL source (file, line, column of the step) when the BPMN was compiled
    from a YAML file the bundle holds. Content that passed once in this process passes
    again without the checks (engine.workflow.spec_cache)."""
    passed = passed_publishing(files, main_file)
    if passed is not None:
        return passed
    try:
        check_bundle(files, main_file)
        try:
            parsed = parsed_once(files, main_file)
        except EngineError:
            raise
        except Exception as err:
            raise DefinitionError(f"SpiffWorkflow cannot read the model: "
                                  f"{type(err).__name__}: {_text(err)}", file=main_file,
                                  details={"rule": "parse"}) from err
        dry_run(parsed)
    except DefinitionError as err:
        err = _with_line(files, err)
        located = in_yaml_source(files, err)
        if located is None:
            raise err from err.__cause__
        raise located from err
    remember_publishable(parsed)
    return parsed


def _with_line(files: Mapping[str, str], error: DefinitionError) -> DefinitionError:
    """The refusal with the line and column of its element, when it names an element but no
    line (SpiffWorkflow's parser reports some problems by element id only)."""
    if error.line is not None or not error.element or not error.file \
            or not error.file.endswith(".bpmn") or error.file not in files:
        return error
    text = files[error.file]
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return error
    element = next((e for e in root.iter() if isinstance(e.tag, str)
                    and e.get("id") == error.element), None)
    if element is None:
        return error
    details = {k: v for k, v in error.details.items()
               if k not in ("file", "line", "column", "element")}
    details.setdefault("rule", "spiffworkflow")
    return DefinitionError(error.reason, file=error.file, line=element.sourceline,
                           column=column_of(text.splitlines(), element.sourceline, element),
                           element=error.element, details=details)


_SUFFIX = re.compile(r"_[a-z0-9]+$")
# a DSL step is written `- KIND: id` (dsl/compile.py STEP_KINDS)
_STEP_KEYS = "task|decide|parallel|wait|repeat|refer|record|notify|end"
# the BPMN attribute refused -> the DSL step keys it is compiled from
_DSL_KEYS = {"timeDuration": ("for", "every"), "timeDate": ("until",), "due": ("due",)}


def in_yaml_source(files: Mapping[str, str], error: DefinitionError) -> DefinitionError | None:
    """The same refusal located in the DSL file the BPMN file was compiled from: the step
    whose id the element carries (compiled ids are step ids, or step ids with a suffix such
    as `_merge` or `_wait`, written `- wait: id`), at the step's key that holds the refused
    value when there is one (`for`, `every`, `until`, `due`); None when the bundle holds no
    such file or step."""
    if not error.file or not error.file.endswith(".bpmn"):
        return None
    source = f"{PurePosixPath(error.file).stem}.yaml"
    text = files.get(source)
    if text is None:
        return None
    lines = text.splitlines()
    found = _step_line(lines, error.element or "")
    if found is None:
        return None  # not a step's element: the compiled BPMN's location is the best known
    keys = _DSL_KEYS.get(str(error.details.get("attribute")), ())
    line, column = _key_line(lines, *found, keys) if keys else found
    details = {k: v for k, v in error.details.items()
               if k not in ("file", "line", "column", "element", "message")}
    details.update({"bpmn_file": error.file, "bpmn_line": error.line})
    return DefinitionError(error.reason, file=source, line=line, column=column,
                           element=error.element, details=details)


def _step_line(lines: list[str], step: str) -> tuple[int, int] | None:
    """(line, column) of the DSL step the element id names: the id itself, or the id
    without its suffixes, one at a time."""
    while step:
        pattern = re.compile(rf"^(\s*(?:-\s+)?)(?:{_STEP_KEYS}):\s*['\"]?{re.escape(step)}"
                             rf"['\"]?\s*(#.*)?$")
        for number, content in enumerate(lines, start=1):
            match = pattern.match(content)
            if match:
                return number, len(match.group(1)) + 1
        shorter = _SUFFIX.sub("", step)
        step = shorter if shorter != step else ""
    return None


def _key_line(lines: list[str], line: int, column: int, keys: tuple[str, ...]
              ) -> tuple[int, int]:
    """(line, column) of the value of one of `keys` among the step's own lines, after its
    first; the step's own place when it has none."""
    for number in range(line, len(lines)):
        content = lines[number]
        indent = len(content) - len(content.lstrip())
        if content.strip() and indent < column - 1:
            break
        key = re.match(rf"^\s*({'|'.join(keys)}):\s*", content)
        if key and indent == column - 1:
            return number + 1, key.end() + 1
    return line, column

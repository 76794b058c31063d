"""Turn a bundle of BPMN and form files into runnable, cached SpiffWorkflow specs.

A bundle is a mapping of file name to text: the pathway's BPMN, the BPMN of processes it
calls, and the JSON Schema forms its user tasks name in
`spiffworkflow:properties/formJsonSchemaFilename` (resolved next to the BPMN, as spiff-arena
does). Bundles are content-addressed; parsing is cached by hash, so a case never carries a
copy of its spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import jsonschema
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import (
    SignalEventDefinition as SpiffSignalEventDefinition,
)

from engine.data_names import reserved_data_name
from engine.errors import DefinitionError, ScriptError
from engine.workflow import clock_timers
from engine.workflow.bpmn_events import (
    BroadcastSignalEventDefinition,
    EventSubprocessStartEvent,
    PathwaysBpmnParser,
    UncaughtEventError,
    remember_throwers,
    wire_event_subprocesses,
)
from engine.workflow.bpmn_xml import BPMN_NS, SPIFF_NS, local_name, parse_xml, spiff_properties
from engine.workflow.bundle_files import (
    MAX_FILE_NAME,
    FileReference,
    bundle_hash,
    called_elements,
    check_file_references,
    file_name_problem,
    file_references,
    referenced_files,
    refused_reference,
)
from engine.workflow.camunda import apply_camunda_tasks
from engine.workflow.conditional_events import use_conditional_events
from engine.workflow.definition_model import (
    ASSIGN,
    CLIENT_SCOPE,
    DECLARATIVE,
    DUE_PROPERTY,
    EXIT_REASON,
    FORM_PROPERTY,
    NOTIFY_MESSAGE,
    NOTIFY_TO,
    OUTCOME,
    OUTCOME_VALUE,
    OUTCOME_WHEN,
    PROGRAMME_SCOPE,
    REFER,
    ROLES_SUFFIX,
    SENSITIVE,
    SENSITIVE_CATEGORIES,
    SENSITIVE_PROPERTY,
    SIGNAL_SCOPE_PROPERTY,
    SIGNAL_SCOPES,
    TASK_ORGANISATION,
    UI_FORM_PROPERTY,
    ParsedDefinition,
    UserTaskInfo,
    all_task_specs,
)
from engine.workflow.implicit_flows import with_implicit_splits
from engine.workflow.joins import with_merging_joins
from engine.workflow.multi_instance import with_multi_instance_behavior
from engine.workflow.nested_event_subprocesses import arm_called_processes
from engine.workflow.nested_event_throws import route_nested_throws
from engine.workflow.sandbox import compile_expression, compile_script
from engine.workflow.sensitivity import derive_sensitivity

# Names this module has always offered; they live in the modules above now.
__all__ = [
    "ASSIGN", "CLIENT_SCOPE", "DUE_PROPERTY", "EXIT_REASON", "FORM_PROPERTY", "MAX_FILE_NAME",
    "NOTIFY_MESSAGE", "NOTIFY_TO", "OUTCOME", "OUTCOME_VALUE", "OUTCOME_WHEN",
    "PROGRAMME_SCOPE", "REFER", "ROLES_SUFFIX", "SENSITIVE", "SENSITIVE_CATEGORIES",
    "SENSITIVE_PROPERTY", "SIGNAL_SCOPES", "SIGNAL_SCOPE_PROPERTY", "TASK_ORGANISATION",
    "UI_FORM_PROPERTY",
    "BroadcastSignalEventDefinition", "EventSubprocessStartEvent", "FileReference",
    "ParsedDefinition", "PathwaysBpmnParser", "UncaughtEventError",
    "UserTaskInfo", "bundle_hash", "called_elements", "check_file_references",
    "file_name_problem", "file_references", "parse_bundle", "referenced_files",
    "refused_reference",
]


def _choose_main_process(parser: SpiffBpmnParser, main_file: str, text: str) -> str:
    root = parse_xml(text, main_file)
    executable = [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")
                  if p.get("isExecutable", "true") == "true"]
    stem = PurePosixPath(main_file).stem
    if stem in executable:
        return stem
    _, called = called_elements(text, main_file)
    roots = [p for p in executable if p not in called]
    if len(roots) == 1:
        return str(roots[0])
    if not executable:
        raise DefinitionError("no executable bpmn:process found", file=main_file)
    raise DefinitionError(
        f"several executable processes ({', '.join(map(str, executable))}); name the file "
        "after the one to publish", file=main_file)


def _swap_timer_classes(parsed: ParsedDefinition) -> None:
    """Make timers read the engine clock, so `timers run --now` and tests can set the time.

    The timer definition objects live in the cached spec; one reaches a case's stored state
    only as an event an event-based gateway saw, which engine.workflow.state serializes by class.
    """
    swaps = clock_timers.CLOCK_TIMERS

    def swap(definition: Any) -> None:
        if isinstance(definition, MultipleEventDefinition):
            for inner in definition.event_definitions:
                swap(inner)
        elif type(definition) in swaps:
            definition.__class__ = swaps[type(definition)]

    for spec in all_task_specs(parsed):
        if hasattr(spec, "event_definition"):
            swap(spec.event_definition)


def _broadcast_thrown_signals(parsed: ParsedDefinition) -> None:
    """Make every signal throw a broadcast (BroadcastSignalEventDefinition). The definition
    objects live only in the cached spec (never serialized), as with the timer classes."""
    for spec in all_task_specs(parsed):
        if isinstance(spec, ThrowingEvent) \
                and type(spec.event_definition) is SpiffSignalEventDefinition:
            spec.event_definition.__class__ = BroadcastSignalEventDefinition


def _check_expressions(parsed: ParsedDefinition) -> None:
    """Refuse at publish time any script or condition the sandbox would refuse at run time."""
    for spec in all_task_specs(parsed):
        sources: list[tuple[str, str]] = []
        script = getattr(spec, "script", None)
        if isinstance(script, str):
            sources.append(("script", script))
        for attr in ("prescript", "postscript"):
            value = getattr(spec, attr, None)
            if isinstance(value, str) and value.strip():
                sources.append(("script", value))
        for condition, _target in getattr(spec, "cond_task_specs", []) or []:
            text = getattr(condition, "args", [condition])[0] if condition is not None else None
            if isinstance(text, str):
                sources.append(("expression", text))
        for kind, source in sources:
            try:
                (compile_script if kind == "script" else compile_expression)(source)
            except ScriptError as err:
                raise DefinitionError(err.message, file=parsed.main_file,
                                      element=spec.bpmn_id or spec.name) from err


def _lane_roles(files: Mapping[str, str]) -> dict[str, str]:
    """Lane name -> lane id. SpiffWorkflow reports a task's lane by name; roles are ids."""
    roles: dict[str, str] = {}
    for name, text in files.items():
        if name.endswith(".bpmn"):
            for lane in parse_xml(text, name).iter(f"{{{BPMN_NS}}}lane"):
                lane_id = lane.get("id")
                if lane_id:
                    roles[lane.get("name") or lane_id] = lane_id
    return roles


def _user_task_info(spec: Any, parsed: ParsedDefinition,
                    roles: Mapping[str, str]) -> UserTaskInfo:
    properties: dict[str, str] = (spec.extensions or {}).get("properties", {})
    form = properties.get(FORM_PROPERTY)
    if form is not None and form not in parsed.files:
        raise DefinitionError(
            f"user task form {form!r} not found next to the BPMN file", file=parsed.main_file,
            element=spec.bpmn_id)
    lane = getattr(spec, "lane", None)
    return UserTaskInfo(step=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id,
                        role=roles.get(lane, lane) if lane else None, form=form,
                        due=properties.get(DUE_PROPERTY),
                        assign=properties.get(ASSIGN) or None,
                        organisation=properties.get(TASK_ORGANISATION) or None,
                        instructions=(getattr(spec, "documentation", None) or "").strip() or None)


_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def _outside_reference(schema: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(JSON path, value) of the first `$ref` that does not point inside the schema."""
    if depth > 100:
        return path, "(nested too deeply)"
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in _REFERENCE_KEYS and (not isinstance(value, str)
                                           or not value.startswith("#")):
                return f"{path}/{key}", str(value)
            found = _outside_reference(value, f"{path}/{key}", depth + 1)
            if found is not None:
                return found
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found = _outside_reference(value, f"{path}/{index}", depth + 1)
            if found is not None:
                return found
    return None


def _parse_json(text: str, name: str, what: str) -> Any:
    """The JSON file `name` of the bundle parsed; a DefinitionError at the line and column
    where it stops being JSON, naming `what` the file is (a form, a roles file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DefinitionError(f"{what} is not valid JSON: {err.msg}", file=name,
                              line=err.lineno, column=err.colno) from err


def _load_forms(parsed: ParsedDefinition) -> None:
    """Read every JSON file of the bundle; those used as task forms must be valid schemas."""
    schema_names = {info.form for info in parsed.user_tasks.values() if info.form}
    for name, text in parsed.files.items():
        if not name.endswith(".json") or name.endswith(ROLES_SUFFIX):
            continue
        schema = _parse_json(text, name, "form")
        if not isinstance(schema, dict):
            raise DefinitionError("form schema must be a JSON object", file=name)
        outside = _outside_reference(schema)
        if outside is not None:
            path, ref = outside
            raise DefinitionError(f"form refers to {ref[:100]!r} at '{path}': a $ref must point "
                                  "inside the form ('#/...'); nothing is fetched from files "
                                  "or the network", file=name,
                                  details={"attribute": "$ref", "value": ref[:200]})
        if name in schema_names:
            validator = jsonschema.validators.validator_for(schema)
            try:
                validator.check_schema(schema)
            except jsonschema.SchemaError as err:
                path = "/".join(str(p) for p in err.absolute_path)
                raise DefinitionError(f"form is not a valid JSON Schema at '{path}': "
                                      f"{err.message}", file=name) from err
        parsed.forms[name] = schema


def _refuse_reserved_form_fields(parsed: ParsedDefinition) -> None:
    """A submitted form field becomes case data under its own name: one named as what the
    engine writes there (engine.data_names, or the variable a caught message is put in)
    would overwrite it, or be overwritten."""
    catches = _message_variables(parsed.files)
    for _, info in sorted(parsed.user_tasks.items()):
        schema = parsed.forms.get(info.form) if info.form else None
        fields = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(fields, dict) or info.form is None:
            continue
        for name in fields:
            problem = _reserved_field_problem(str(name), catches)
            if problem is not None:
                raise _refused_field(parsed, info, str(name), problem)


def _message_variables(files: Mapping[str, str]) -> dict[str, str]:
    """Message variable -> the element that catches into it."""
    catches: dict[str, str] = {}
    for file_name, text in files.items():
        if file_name.endswith(".bpmn"):
            for variable in parse_xml(text, file_name).iter(f"{{{SPIFF_NS}}}messageVariable"):
                owner = next((e for e in variable.iterancestors() if e.get("id")), None)
                if variable.text and variable.text.strip():
                    catches.setdefault(variable.text.strip(),
                                       owner.get("id") if owner is not None else "?")
    return catches


def _reserved_field_problem(name: str, catches: Mapping[str, str]) -> str | None:
    problem = reserved_data_name(name)
    if problem is None and name in catches:
        problem = f"{name!r} is reserved: the engine puts the message {catches[name]!r} " \
                  "catches there"
    return problem


def _refused_field(parsed: ParsedDefinition, info: UserTaskInfo, name: str,
                   problem: str) -> DefinitionError:
    """The refusal located at the field's key in the form file."""
    form = str(info.form)
    text = parsed.files.get(form, "")
    found = re.search(r'"' + re.escape(json.dumps(name)[1:-1]) + r'"\s*:', text)
    line = text.count("\n", 0, found.start()) + 1 if found else None
    column = found.start() - text.rfind("\n", 0, found.start()) if found else None
    return DefinitionError(f"form field {problem}; rename the field", file=form, line=line,
                           column=column, element=info.step,
                           details={"field": f"properties.{name}"})


def _load_roles(parsed: ParsedDefinition) -> None:
    """Read NAME.roles.json of the main file NAME.bpmn, if the bundle has one:
    {"organisation": owner or null, "roles": {id: {"title", "organisations": [ids]}},
    "sensitive_client_fields": {field: "health" | "offence"}, "client_fields": {field: type}}
    (every key optional)."""
    name = PurePosixPath(parsed.main_file).stem + ROLES_SUFFIX
    text = parsed.files.get(name)
    if text is None:
        return
    data = _parse_json(text, name, "roles file")
    data = data if isinstance(data, dict) else {"roles": None}
    roles = data.get("roles", {})
    owner = data.get("organisation")
    sensitive = data.get("sensitive_client_fields", {})
    if not isinstance(roles, dict) or not (owner is None or isinstance(owner, str)) \
            or not isinstance(sensitive, dict):
        raise DefinitionError('roles file must be {"organisation": id or null, "roles": '
                              '{role: {"title", "organisations": [ids]}}}', file=name)
    parsed.owner = owner
    _load_lane_roles(parsed, name, roles)
    types = data.get("client_fields", {})
    if isinstance(types, dict):
        parsed.client_field_types.update(
            {field: kind for field, kind in types.items() if isinstance(kind, str)})
    _load_sensitive_client_fields(parsed, name, sensitive)


def _load_lane_roles(parsed: ParsedDefinition, file: str, roles: Mapping[str, Any]) -> None:
    for role, spec in roles.items():
        spec = spec if isinstance(spec, dict) else {}
        organisations = spec.get("organisations") or []
        if not isinstance(organisations, list) or not all(
                isinstance(o, str) for o in organisations):
            raise DefinitionError(f"roles file: organisations of role {role!r} must be a list "
                                  "of organisation ids", file=file)
        parsed.role_titles[role] = str(spec.get("title") or role)
        parsed.role_organisations[role] = tuple(organisations)


def _load_sensitive_client_fields(parsed: ParsedDefinition, file: str,
                                  sensitive: Mapping[str, Any]) -> None:
    for client_field, category in sensitive.items():
        if category not in SENSITIVE_CATEGORIES:
            raise DefinitionError(f"roles file: client field {client_field!r} has unknown "
                                  f"sensitivity {category!r}", file=file)
        parsed.sensitive_client_fields[client_field] = category


def parse_bundle(files: Mapping[str, str], main_file: str) -> ParsedDefinition:
    """Parse and check a bundle. Raises DefinitionError naming the file, line and element."""
    if main_file not in files:
        raise DefinitionError("main BPMN file missing from bundle", file=main_file)
    parser = PathwaysBpmnParser(validator=VALIDATOR)
    parser.OVERRIDE_PARSER_CLASSES = with_implicit_splits(with_multi_instance_behavior(
        with_merging_joins(parser.OVERRIDE_PARSER_CLASSES), parser.PARSER_CLASSES),
        parser.PARSER_CLASSES)
    _add_bpmn_files(parser, files, main_file)
    pathway = _choose_main_process(parser, main_file, files[main_file])
    spec, subprocess_specs = _specs(parser, pathway, main_file)
    parsed = ParsedDefinition(
        pathway=pathway, hash=bundle_hash(files), main_file=main_file, files=dict(files),
        spec=spec, subprocess_specs=subprocess_specs,
        processes=tuple(sorted(parser.get_process_ids())),
        start_messages=_started_by(spec, MessageEventDefinition),
        start_signals=_started_by(spec, SignalEventDefinition),
        signal_scopes=_signal_scopes(files),
    )
    _read_user_tasks(parsed)
    apply_camunda_tasks(parsed)  # Camunda forms, candidate groups, assignees
    for step in _AFTER_PARSING:
        step(parsed)
    return parsed


def _located(err: ValidationException, file: str) -> DefinitionError:
    """SpiffWorkflow's refusal as a DefinitionError at its file, line and element."""
    return DefinitionError(str(err.args[0]) if err.args else str(err),
                           file=err.file_name or file, line=err.line_number or None,
                           element=err.id or None)


def _add_bpmn_files(parser: PathwaysBpmnParser, files: Mapping[str, str],
                    main_file: str) -> None:
    """Every BPMN file of the bundle, each well-formed and naming only files of the bundle's
    folder, handed to the parser (a bundle file's own name must be plain too)."""
    for name, text in files.items():
        if file_name_problem(name) is not None:
            raise DefinitionError(f"bundle file name {name!r} {file_name_problem(name)}",
                                  file=main_file)
        if not name.endswith(".bpmn"):
            continue
        parse_xml(text, name)
        check_file_references(text, name)
        try:
            parser.add_bpmn_str(text.encode("utf-8"), name)
        except ValidationException as err:
            raise _located(err, name) from err


def _specs(parser: PathwaysBpmnParser, pathway: str, main_file: str
           ) -> tuple[Any, dict[str, Any]]:
    """(the pathway's spec, the specs of every process it calls), event handling fixed."""
    try:
        spec = parser.get_spec(pathway)
        subprocess_specs = parser.get_subprocess_specs(pathway)
    except ValidationException as err:
        raise _located(err, main_file) from err
    except SpiffWorkflowException as err:
        raise DefinitionError(str(err), file=main_file) from err
    missing = sorted(name for name, sub in subprocess_specs.items() if sub is None)
    if missing:
        raise DefinitionError(f"call activity calls unknown process(es): {', '.join(missing)}; "
                              "publish them first or put them in the same file", file=main_file)
    arm_called_processes(parser, pathway, subprocess_specs)
    wire_event_subprocesses([spec, *subprocess_specs.values()])
    remember_throwers([spec, *subprocess_specs.values()])
    route_nested_throws([spec, *subprocess_specs.values()])
    return spec, subprocess_specs


def _started_by(spec: Any, definition_class: type[Any]) -> tuple[str, ...]:
    """Names of the messages (or signals) whose start event starts a case of the process."""
    return tuple(sorted({
        ts.event_definition.name for ts in spec.task_specs.values()
        if isinstance(ts, StartEvent) and isinstance(ts.event_definition, definition_class)}))


def _read_user_tasks(parsed: ParsedDefinition) -> None:
    """What the inbox needs of each user task; a call of a process not parsed refused."""
    roles = _lane_roles(parsed.files)
    for task_spec in all_task_specs(parsed):
        if isinstance(task_spec, UserTask):
            parsed.user_tasks[task_spec.name] = _user_task_info(task_spec, parsed, roles)
        if isinstance(task_spec, SubWorkflowTask) \
                and task_spec.spec not in parsed.subprocess_specs:
            raise DefinitionError(f"unknown called process {task_spec.spec!r}",
                                  file=parsed.main_file, element=task_spec.bpmn_id)


def _signal_scopes(files: Mapping[str, str]) -> dict[str, str]:
    """Signal name -> scope of every signal the bundle throws, from `signal_scope` on the
    throwing events (intermediate throw or end event; "client" when not said).

    Refused: an unknown scope, a scope on an element that throws no signal, and one signal
    thrown with two different scopes (the engine routes a thrown signal by its name).
    """
    scopes: dict[str, tuple[str, str]] = {}  # name -> (scope, element that throws it)
    for file, text in files.items():
        if not file.endswith(".bpmn"):
            continue
        root = parse_xml(text, file)
        signals = {s.get("id"): s.get("name") or s.get("id")
                   for s in root.iter(f"{{{BPMN_NS}}}signal")}
        for element in root.iter():
            thrown = _thrown_signal(element, file, signals)
            if thrown is None:
                continue
            name, scope = thrown
            earlier = scopes.get(name)
            if earlier is not None and earlier[0] != scope:
                raise DefinitionError(f"signal {name!r} is thrown with scope {scope!r} here "
                                      f"and {earlier[0]!r} at {earlier[1]!r}; give every "
                                      "throw of one signal the same scope", file=file,
                                      line=element.sourceline, element=element.get("id"))
            scopes[name] = (scope, str(element.get("id")))
    return {name: scope for name, (scope, _) in scopes.items()}


def _thrown_signal(element: Any, file: str, signals: Mapping[str, str]
                   ) -> tuple[str, str] | None:
    """(signal name, scope) when the element throws a signal, None otherwise; a scope said
    where no signal is thrown, or not one of SIGNAL_SCOPES, refused."""
    said = spiff_properties(element).get(SIGNAL_SCOPE_PROPERTY)
    throws = local_name(element) in ("intermediateThrowEvent", "endEvent")
    definition = element.find(f"{{{BPMN_NS}}}signalEventDefinition") if throws else None
    if definition is None:
        if said is not None:
            raise DefinitionError(
                f"{SIGNAL_SCOPE_PROPERTY} belongs on an event that throws a signal "
                "(intermediate throw or end event)", file=file,
                line=element.sourceline, element=element.get("id"))
        return None
    if said is not None and said not in SIGNAL_SCOPES:
        raise DefinitionError(f"{SIGNAL_SCOPE_PROPERTY} must be one of "
                              f"{', '.join(SIGNAL_SCOPES)}, not {said!r}", file=file,
                              line=element.sourceline, element=element.get("id"),
                              details={"attribute": SIGNAL_SCOPE_PROPERTY, "value": said})
    ref = definition.get("signalRef")
    name = str(signals.get(ref) or ref) if ref else str(element.get("name") or "")
    return name, said or CLIENT_SCOPE


def _connect_loops(parsed: ParsedDefinition) -> None:
    """Let each loop hear its rounds complete, as SpiffWorkflow's spec deserializer does.

    A loop task connects this handler only when it creates a round, and only on the spec
    object it runs with; a case loaded on freshly parsed specs (another process, or a new
    version after a migration) would otherwise finish its round and never continue.
    """
    for process in [parsed.spec, *parsed.subprocess_specs.values()]:
        if process is None:
            continue
        for spec in process.task_specs.values():
            if isinstance(spec, LoopTask):
                child = process.task_specs.get(spec.task_spec)
                if child is not None and not child.completed_event.is_connected(
                        spec.merge_child):
                    child.completed_event.connect(spec.merge_child)


def _run_declarative_tasks_by_themselves(parsed: ParsedDefinition) -> None:
    """A bpmn:task is a manual task to SpiffWorkflow; one that records an outcome, notifies
    or refers (the DSL's declarative steps) has nothing for a person to do, so it runs as
    soon as it is reached. Specs are cached, never serialized, so this is safe to set."""
    for spec in all_task_specs(parsed):
        properties = (getattr(spec, "extensions", None) or {}).get("properties", {})
        if isinstance(spec, NoneTask) and any(key in properties for key in DECLARATIVE):
            spec.manual = False


# what parse_bundle does to a parsed bundle, in this order: read its forms and roles file,
# refuse what they cannot hold, derive what is sensitive, check its code, then adjust the
# cached specs for how Pathways runs them
_AFTER_PARSING: tuple[Callable[[ParsedDefinition], None], ...] = (
    _load_forms, _refuse_reserved_form_fields, _load_roles, derive_sensitivity,
    _check_expressions, _swap_timer_classes, use_conditional_events, _broadcast_thrown_signals,
    _run_declarative_tasks_by_themselves, _connect_loops)

"""What in a pathway reveals health or offence data by its existence, marked or derived.

Marked: `spiffworkflow:property name="sensitive"` on the process (the whole pathway), or on an
element: a step, a gateway, a sequence flow. Derived, until nothing changes:

* a gateway with a marked outgoing flow, or a condition that reads a sensitive field, is
  sensitive (its decision says which way it went), and so is every element on its branches
  that not every branch reaches (the steps inside the branches; a branch that ends the case
  by itself does not count, so what the others meet at is after the decision; when no two
  branches meet, reaching anything after it tells the answer, so all of it counts as inside);
* everything inside a sensitive subprocess, and the processes a sensitive call activity calls;
* a record step whose value or condition reads a sensitive field, and a set step whose
  expressions do; a computed form field that reads one is a sensitive field itself;
* every form field of a sensitive user task (and the client fields it saves to), every name
  a sensitive set step writes, the variable a sensitive catch event puts its message in, and
  the names a sensitive element's scripts assign (a DSL repeat's rounds), are sensitive
  fields; so is the output collection of a multi-instance activity with a sensitive step or
  form field inside.

A refer step to a sensitive pathway is sensitive too; that is known only beside the other
pathway's definition, so engine.access.privacy decides it (from `referrals`).

Reading the XML for this also notes what the runner and privacy need of each element: the
sequence flows (a decision's event names the flow taken), refer steps and the catches of a
referred case's completion, and end events' exit reasons.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import DefinitionError
from engine.workflow.bpmn_xml import BPMN_NS, SPIFF_NS, local_name, parse_xml, spiff_properties
from engine.workflow.definition_model import (
    EXIT_REASON,
    OUTCOME,
    OUTCOME_VALUE,
    OUTCOME_WHEN,
    REFER,
    SENSITIVE_CATEGORIES,
    SENSITIVE_PROPERTY,
    SETS,
    ParsedDefinition,
)
from engine.workflow.forms import computed_fields

_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_NOT_NODES = ("sequenceFlow", "laneSet", "documentation", "extensionElements", "association",
              "textAnnotation", "dataObject", "dataObjectReference", "dataStoreReference",
              "ioSpecification", "property")
_MESSAGE_CATCHES = ("intermediateCatchEvent", "boundaryEvent", "receiveTask")
# a message named so is the completion (or start) of a referred case
_REFERRAL_MESSAGE_PREFIXES = ("completed:", "start:")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Flow = tuple[str, str, str, str]  # (id, source, target, condition text)


def _category(value: str | None, file: str, element: str | None) -> str | None:
    if value is None:
        return None
    if value not in SENSITIVE_CATEGORIES:
        raise DefinitionError(f"sensitive must be one of {', '.join(SENSITIVE_CATEGORIES)}, "
                              f"not {value!r}", file=file, element=element)
    return value


@dataclass
class _Graph:
    """One process or subprocess: its flow nodes and sequence flows."""

    nodes: list[str]
    flows: list[Flow]

    def outgoing(self, node: str) -> list[Flow]:
        return [f for f in self.flows if f[1] == node]

    def reach(self, start: str, stop: str) -> set[str]:
        """Nodes reachable from start (itself included) without passing stop, and the flows
        taken."""
        seen: set[str] = set()
        todo = [start]
        while todo:
            node = todo.pop()
            if node in seen or node == stop:
                continue
            seen.add(node)
            for flow_id, _, target, _ in self.outgoing(node):
                seen.add(flow_id)
                todo.append(target)
        return seen


@dataclass
class _Model:
    """What the bundle's BPMN says that sensitivity spreads along."""

    marked: dict[str, str] = field(default_factory=dict)
    graphs: list[_Graph] = field(default_factory=list)
    inside: dict[str, set[str]] = field(default_factory=dict)  # container -> its element ids
    called: dict[str, str] = field(default_factory=dict)  # call activity -> called process
    messages: dict[str, str] = field(default_factory=dict)  # message id -> name
    # element -> (message name, the variable it is caught into)
    catches: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=dict)  # record step -> its expressions
    setters: dict[str, list[str]] = field(default_factory=dict)  # set step -> names it writes
    # element -> the names its scripts (script task, pre/post scripts) assign in case data
    assigns: dict[str, set[str]] = field(default_factory=dict)
    # multi-instance activity -> the output collection its instances fill
    collections: dict[str, str] = field(default_factory=dict)


def derive_sensitivity(parsed: ParsedDefinition) -> None:
    """Fill parsed.sensitive_pathway, sensitive_steps and step_fields (see the module
    docstring), and the element facts read on the way: flows, referrals, exit reasons."""
    model = _Model()
    for name, text in parsed.files.items():
        if name.endswith(".bpmn"):
            _read_file(parsed, model, name, parse_xml(text, name))
    _note_referral_catches(parsed, model)
    _Spread(parsed, model).until_settled()


def _read_file(parsed: ParsedDefinition, model: _Model, name: str, root: Any) -> None:
    for message in root.iter(f"{{{BPMN_NS}}}message"):
        if message.get("id"):
            model.messages[message.get("id")] = message.get("name") or message.get("id")
    for element in root.iter():
        element_id = element.get("id")
        local = local_name(element)
        if element_id and local:
            _read_element(parsed, model, name, element, local)


def _read_element(parsed: ParsedDefinition, model: _Model, file: str, element: Any,
                  local: str) -> None:
    element_id = element.get("id")
    props = spiff_properties(element)
    category = _category(props.get(SENSITIVE_PROPERTY), file, element_id)
    if local == "process" and element_id == parsed.pathway:
        parsed.sensitive_pathway = category
    elif category is not None:
        model.marked[element_id] = category
    if local in _CONTAINERS:
        model.inside[element_id] = {e.get("id") for e in element.iter()
                                    if e is not element and e.get("id")}
        model.graphs.append(_read_graph(parsed, element))
    if local == "callActivity" and element.get("calledElement"):
        model.called[element_id] = element.get("calledElement")
    assigned = _assigned(element)
    if assigned:
        model.assigns[element_id] = assigned
    collection = _output_collection(element)
    if collection is not None:
        model.collections[element_id] = collection
    caught = _caught_message(element) if local in _MESSAGE_CATCHES else None
    if caught is not None:
        model.catches[element_id] = caught
    _read_declared(parsed, model, element, props)


def _output_collection(element: Any) -> str | None:
    """A multi-instance activity's output collection (the DSL's `<for_each>_results`)."""
    output = element.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics/"
                          f"{{{BPMN_NS}}}loopDataOutputRef")
    return output.text.strip() if output is not None and output.text and output.text.strip() \
        else None


def _read_declared(parsed: ParsedDefinition, model: _Model, element: Any,
                   props: dict[str, str]) -> None:
    """What the DSL's declarative steps say: refer, exit reason, record and set (read by
    the spread)."""
    element_id = element.get("id")
    if SETS in props:
        script = element.find(f"{{{BPMN_NS}}}script")
        model.readers[element_id] = (script.text or "") if script is not None else ""
        model.setters[element_id] = props[SETS].split()
    if REFER in props:
        parsed.referrals[element_id] = props[REFER]
    if EXIT_REASON in props:
        parsed.exit_reasons[element_id] = props[EXIT_REASON]
    if OUTCOME in props:
        model.readers[element_id] = " ".join(props.get(key, "") for key in
                                             (OUTCOME_VALUE, OUTCOME_WHEN))


def _read_graph(parsed: ParsedDefinition, container: Any) -> _Graph:
    """The container's flow nodes and sequence flows (a boundary event as a flow from the
    activity it is attached to); each sequence flow noted in parsed.flows too."""
    graph = _Graph([], [])
    for child in container:
        child_id, kind = child.get("id"), local_name(child)
        if not child_id or not kind:
            continue
        if kind == "sequenceFlow":
            source, target = child.get("sourceRef") or "", child.get("targetRef") or ""
            parsed.flows.setdefault((source, target), (child_id, child.get("name") or None))
            condition = child.find(f"{{{BPMN_NS}}}conditionExpression")
            graph.flows.append((child_id, source, target,
                                (condition.text or "") if condition is not None else ""))
        elif kind not in _NOT_NODES:
            graph.nodes.append(child_id)
            attached = child.get("attachedToRef")
            if kind == "boundaryEvent" and attached:
                graph.flows.append((f"{attached}>{child_id}", attached, child_id, ""))
    return graph


def _assigned(element: Any) -> set[str]:
    """The names the element's own scripts assign (a DSL repeat's pre/post scripts keep its
    rounds under its id): data a sensitive element sets, whose presence alone tells."""
    scripts = [element.find(f"{{{BPMN_NS}}}script")]
    extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is not None:
        scripts += [extensions.find(f"{{{SPIFF_NS}}}{tag}") for tag in ("preScript",
                                                                        "postScript")]
    names: set[str] = set()
    for script in scripts:
        if script is None or not script.text:
            continue
        try:
            tree = ast.parse(script.text)
        except (SyntaxError, ValueError):
            continue  # publishing refuses it (engine.workflow.definitions)
        names.update(node.id for node in ast.walk(tree)
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
    return names


def _caught_message(element: Any) -> tuple[str, str | None] | None:
    """(message reference, variable it is put in) of a message catch, or None."""
    definition = element.find(f"{{{BPMN_NS}}}messageEventDefinition")
    ref = definition.get("messageRef") if definition is not None else None
    if not ref:
        return None
    variable = definition.find(f".//{{{SPIFF_NS}}}messageVariable")
    return ref, (variable.text.strip() if variable is not None and variable.text else None)


def _note_referral_catches(parsed: ParsedDefinition, model: _Model) -> None:
    """A catch of a referred case's start or completion refers to that pathway; the variable
    the completion is caught into holds its result."""
    for element_id, (ref, variable) in model.catches.items():
        message = model.messages.get(ref, ref)
        for prefix in _REFERRAL_MESSAGE_PREFIXES:
            if message.startswith(prefix):
                parsed.referrals[element_id] = message.removeprefix(prefix)
                if variable:
                    parsed.referral_results[variable] = message.removeprefix(prefix)


class _Spread:
    """Sensitive elements and fields, spread by the rules of the module docstring until a
    round adds nothing."""

    def __init__(self, parsed: ParsedDefinition, model: _Model) -> None:
        self.parsed = parsed
        self.model = model
        self.steps = dict(model.marked)
        self.fields = {**parsed.sensitive_fields(), **parsed.sensitive_client()}
        self.forms = {info.step: info.form for info in parsed.user_tasks.values()}

    def reads(self, text: str) -> str | None:
        """The category of the first sensitive field the expression text names."""
        return next((self.fields[w] for w in _WORD.findall(text) if w in self.fields), None)

    def until_settled(self) -> None:
        changed = True
        while changed:
            before = (len(self.steps), len(self.fields))
            for graph in self.model.graphs:
                self._decisions(graph)
            self._containers()
            self._readers()
            self._computed()
            self._collections()
            self._step_fields()
            self.parsed.sensitive_steps = self.steps
            self.fields.update({k: v for k, v in self.parsed.sensitive_client().items()
                                if k not in self.fields})
            changed = (len(self.steps), len(self.fields)) != before

    def _decisions(self, graph: _Graph) -> None:
        """A sensitive decision, and what is on its branches but not after them. One
        conditional flow alone decides too: a case goes on past it only when it held."""
        for node in graph.nodes:
            outgoing = graph.outgoing(node)
            if len(outgoing) < 2 and not any(f[3] for f in outgoing):
                continue
            category = self.steps.get(node) or next(
                (c for c in (self.steps.get(f[0]) or self.reads(f[3]) for f in outgoing) if c),
                None)
            if category is None:
                continue
            self.steps.setdefault(node, category)
            for element in _inside_branches(graph, node, outgoing):
                self.steps.setdefault(element, category)

    def _containers(self) -> None:
        """Everything inside a sensitive subprocess or the process a sensitive call calls."""
        inside, called = self.model.inside, self.model.called
        for element, category in list(self.steps.items()):
            for inner in inside.get(element, set()) | inside.get(called.get(element, ""), set()):
                self.steps.setdefault(inner, category)

    def _readers(self) -> None:
        """A record (or set) step whose expressions read a sensitive field."""
        for element, text in self.model.readers.items():
            if element not in self.steps and (category := self.reads(text)) is not None:
                self.steps[element] = category

    def _computed(self) -> None:
        """A computed form field reading a sensitive field tells what that field holds."""
        for form in self.forms.values():
            for name, source in computed_fields(self.parsed.form_schema(form)).items():
                if name not in self.fields and (category := self.reads(source)) is not None:
                    self.fields[name] = category
                    self.parsed.step_fields.setdefault(name, category)
    def _collections(self) -> None:
        """A multi-instance activity's output collection holds what its instances answered
        (the DSL's `<for_each>_results`): sensitive when the activity, a step inside it or a
        field of a form inside it is."""
        for element, collection in self.model.collections.items():
            inner = sorted({element} | self.model.inside.get(element, set()))
            found = [self.steps[e] for e in inner if e in self.steps] + [
                category for e in inner
                for category in self.parsed.sensitive_form_fields(self.forms.get(e)).values()]
            if found:
                self.fields.setdefault(collection, min(found))
                self.parsed.step_fields.setdefault(collection, min(found))

    def _step_fields(self) -> None:
        """The form fields of a sensitive task, the names a sensitive set step writes and the
        message variable of a sensitive catch."""
        for element, category in self.steps.items():
            schema = self.parsed.form_schema(self.forms.get(element)) or {}
            names = [*(schema.get("properties") or {}), *self.model.setters.get(element, [])]
            variable = self.model.catches.get(element, ("", None))[1]
            if variable:
                names.append(variable)
            names += sorted(self.model.assigns.get(element, ()))
            for name in names:
                self.fields.setdefault(name, category)
                self.parsed.step_fields.setdefault(name, category)


def _inside_branches(graph: _Graph, node: str, outgoing: list[Flow]) -> set[str]:
    """What is on the decision's branches and not after them: what the branches that meet go
    on to is after the decision, not in it."""
    branches = [graph.reach(target, node) | {flow_id} for flow_id, _, target, _ in outgoing]
    meeting = [b for b in branches if any(b & other for other in branches if other is not b)]
    common = meeting[0].intersection(*meeting[1:]) if meeting else set()
    return branches[0].union(*branches[1:]) - common

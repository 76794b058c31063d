"""Compare two versions of a pathway, and move a running case from one to the other safely.

SpiffWorkflow's own `migrate_workflow` re-points tasks to the new spec without refusing
anything, and leaves cases that run stale steps or cannot be loaded again
(shared/notes/spiffworkflow.md, trap 4). Here a case only moves when nothing it has done or
is doing changes meaning:

* every step it has completed, started or is waiting at exists in the new version with the
  same behaviour (title and instructions may change; form, role, conditions, timers, scripts
  and what comes next may not);
* every step it could act on now (a ready task) still exists.

"The same behaviour" is judged by what a change does to this case (issue 15): a form may
gain an option or an optional field, lose an option this case did not answer, widen a limit
(engine.versions.form_compat); a completed step may gain a successor the case has not taken
(a step added ahead of the case); a step the case did only in an earlier round of a loop (or
before going back), and has not reached again, is judged as a step ahead of it.

Steps are matched by id, or by an explicit mapping (engine.versions.renames). The part of the
task tree that is only predicted (what would come after the current steps) is dropped and
predicted again from the new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.versions.move_check import MoveChecker, workflows_of
from engine.versions.renames import RENAMED_FROM_PROPERTY, Renames
from engine.workflow.definition_model import ROUND_ANSWERS_PREFIX, ROUNDS_SCRIPT
from engine.workflow.definitions import FORM_PROPERTY, UI_FORM_PROPERTY, ParsedDefinition
from engine.workflow.implicit_flows import ImplicitSplit
from engine.workflow.state import SERIALIZER, done_steps

# What the diff reports about a step, in this order.
CHANGE_KINDS: tuple[str, ...] = (
    "type", "title", "instructions", "role", "form", "form_labels", "conditions", "timer",
    "order", "script", "properties", "other")
# Changes that do not alter what a step does, so they never stop a case from moving: the
# words people read (titles, instructions, a form's labels and help texts).
COSMETIC_KINDS = frozenset({"title", "instructions", "form_labels"})
_LABEL_KEYS = frozenset({"title", "description"})

_KNOWN_KEYS = frozenset({
    "typename", "bpmn_name", "documentation", "lane", "extensions", "cond_task_specs",
    "default_task_spec", "event_definition", "outputs", "inputs", "script", "prescript",
    "postscript", "name", "bpmn_id", "description", "lookahead", "manual"})
_FORM_KEYS = (FORM_PROPERTY, UI_FORM_PROPERTY, RENAMED_FROM_PROPERTY)

StepKey = tuple[str, str]  # (process id, step id)


@dataclass(frozen=True)
class StepSummary:
    process: str
    step: str
    title: str | None
    type: str


@dataclass(frozen=True)
class StepChange:
    process: str
    step: str
    title: str | None
    # kind -> {"from": old, "to": new}, plus for forms "fields_added"/"fields_removed"/...
    changes: dict[str, dict[str, Any]]

    @property
    def kinds(self) -> list[str]:
        return list(self.changes)

    @property
    def behaviour_changed(self) -> bool:
        return any(kind not in COSMETIC_KINDS for kind in self.changes)


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions, step by step (matched by step id)."""

    added: list[StepSummary] = field(default_factory=list)
    removed: list[StepSummary] = field(default_factory=list)
    changed: list[StepChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


# -- describing steps -----------------------------------------------------------------------


def _processes(parsed: ParsedDefinition) -> Iterator[tuple[str, Any]]:
    yield parsed.spec.name, parsed.spec
    for name, spec in sorted(parsed.subprocess_specs.items()):
        if spec is not None and name != parsed.spec.name:
            yield name, spec


def _event_definition(definition: Any) -> Any:
    if definition is None:
        return None
    kind = type(definition).__name__.removeprefix("Clock")
    if isinstance(definition, TimerEventDefinition | ConditionalEventDefinition):
        return {"kind": kind, "expression": getattr(definition, "expression", None)}
    inner = getattr(definition, "event_definitions", None)
    if inner:
        return {"kind": kind, "parts": [_event_definition(d) for d in inner]}
    return {"kind": kind, "name": getattr(definition, "name", None)}


def _convert(spec: Any) -> dict[str, Any]:
    """The spec as SpiffWorkflow's serializer describes it. Pathways' subclasses that have
    no converter of their own (the merging gateways of joins.py) are described by their
    nearest base that has one: else their branches and conditions would compare equal
    whatever they are, and a change to them would go unseen."""
    registry = SERIALIZER.registry
    base = next((cls for cls in type(spec).__mro__ if cls in registry.typenames), None)
    if base is None:
        return {"typename": type(spec).__name__}
    converted = registry.convert_to_dict[registry.typenames[base]](spec)
    if not isinstance(converted, dict):
        return {"typename": type(spec).__name__}
    return {**converted, "typename": type(spec).__name__}


def _form(parsed: ParsedDefinition, properties: Mapping[str, Any]
          ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the form without its labels, its labels and UI schema): what a form does to data,
    apart from the words people read."""
    name = properties.get(FORM_PROPERTY)
    if not name:
        return None, None
    schema = parsed.forms.get(name) or {}
    ui_name = properties.get(UI_FORM_PROPERTY)
    fields = schema.get("properties") or {}
    labels = {  # the form's own title is the step's title, reported as such
        **({"description": schema["description"]} if "description" in schema else {}),
        "fields": {field: _labels(spec) for field, spec in fields.items()
                   if isinstance(spec, dict)},
        "ui": parsed.forms.get(ui_name) if ui_name else None}
    return {"schema": _without_labels(schema, fields)}, labels


def _without_labels(schema: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in schema.items() if k not in _LABEL_KEYS | {"properties"}},
            "properties": {field: {k: v for k, v in spec.items() if k not in _LABEL_KEYS}
                           if isinstance(spec, dict) else spec
                           for field, spec in fields.items()}}


def _labels(field: Mapping[str, Any]) -> dict[str, Any]:
    return {k: field[k] for k in sorted(_LABEL_KEYS) if k in field}


def step_properties(parsed: ParsedDefinition, spec: Any) -> dict[str, Any]:
    """A step's properties grouped by the change kinds the diff reports."""
    raw = _convert(spec)
    properties = dict((raw.get("extensions") or {}).get("properties", {}))
    is_timer = isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)
    form, form_labels = _form(parsed, properties)
    described: dict[str, Any] = {
        "type": raw.get("typename"),
        "title": raw.get("bpmn_name"),
        "instructions": raw.get("documentation"),
        # only a person's task has a role (compared by id: a role's title is only words);
        # other elements sit in a lane for the diagram
        "role": _role(parsed, spec) if getattr(spec, "manual", False) else None,
        "form": form,
        "form_labels": form_labels,
        "conditions": _conditions(raw),
        "timer": _event_definition(spec.event_definition) if is_timer else None,
        "order": list(raw.get("outputs") or []),
        "script": {key: raw.get(key) for key in ("script", "prescript", "postscript")
                   if raw.get(key) and not str(raw.get(key)).startswith(ROUNDS_SCRIPT)}
        or None,
        "properties": {k: v for k, v in sorted(properties.items()) if k not in _FORM_KEYS}
        or None,
    }
    described["other"] = _other(raw, spec, is_timer)
    _add_own_flows(described, spec)
    return described


def _add_own_flows(described: dict[str, Any], spec: Any) -> None:
    """An activity whose outgoing flows go through its ImplicitSplit: what comes next and
    the conditions are those flows' (the split itself is not a step of its own)."""
    split = next((s for s in spec.outputs if isinstance(s, ImplicitSplit)), None)
    if split is not None:
        raw = _convert(split)
        described["order"] = [*described["order"], *(raw.get("outputs") or [])]
        described["conditions"] = _conditions(raw) if split.decides else None


def _conditions(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """A gateway's conditions by branch and its default branch (None: not a decision)."""
    conditions = [(c.get("task_spec"), c.get("condition"))
                  for c in raw.get("cond_task_specs") or []]
    if not conditions and not raw.get("default_task_spec"):
        return None
    return {"branches": conditions, "default": raw.get("default_task_spec")}


def _other(raw: Mapping[str, Any], spec: Any, is_timer: bool) -> Any:
    """Whatever else the step's serialized spec holds (an event other than a timer's)."""
    other = {key: value for key, value in raw.items() if key not in _KNOWN_KEYS}
    if "event_definition" in raw and not is_timer:
        other["event"] = _event_definition(getattr(spec, "event_definition", None))
    return _jsonable(other) or None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(type(value).__name__)


def _role(parsed: ParsedDefinition, spec: Any) -> str | None:
    info = parsed.user_tasks.get(spec.name)
    return info.role if info is not None else getattr(spec, "lane", None)


def _is_visible_step(spec: Any) -> bool:
    """Steps a designer wrote (not SpiffWorkflow's own Start/End/join helpers or loop rounds)."""
    return bool(getattr(spec, "bpmn_id", None)) and spec.name == spec.bpmn_id


def _form_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    old_schema = (old or {}).get("schema") or {}
    new_schema = (new or {}).get("schema") or {}
    old_fields = old_schema.get("properties") or {}
    new_fields = new_schema.get("properties") or {}
    old_required = set(old_schema.get("required") or [])
    new_required = set(new_schema.get("required") or [])
    changed = sorted(name for name in set(old_fields) & set(new_fields)
                     if old_fields[name] != new_fields[name]
                     or (name in old_required) != (name in new_required))
    return {
        "fields_added": sorted(set(new_fields) - set(old_fields)),
        "fields_removed": sorted(set(old_fields) - set(new_fields)),
        "fields_changed": changed,
        # each changed field as it was and is (its labels left out), to say what changed
        "field_changes": {name: {"from": {**old_fields[name], "required": name in old_required},
                                 "to": {**new_fields[name], "required": name in new_required}}
                          for name in changed},
    }


def _compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for kind in CHANGE_KINDS:
        if old.get(kind) == new.get(kind):
            continue
        if kind == "form":
            changes[kind] = _form_changes(old.get(kind), new.get(kind))
        elif kind == "form_labels":
            old_labels, new_labels = old.get(kind) or {}, new.get(kind) or {}
            old_fields, new_fields = old_labels.get("fields", {}), new_labels.get("fields", {})
            relabelled = sorted(name for name in set(old_fields) & set(new_fields)
                                if old_fields[name] != new_fields[name])
            other = [key for key in ("description", "ui")
                     if old_labels.get(key) != new_labels.get(key)]
            if relabelled or other:  # labels of added or removed fields go with "form"
                changes[kind] = {"fields": relabelled, "other": other}
        else:
            changes[kind] = {"from": old.get(kind), "to": new.get(kind)}
    return changes


def _all_specs(parsed: ParsedDefinition) -> dict[StepKey, Any]:
    return {(process, name): spec for process, pspec in _processes(parsed)
            for name, spec in pspec.task_specs.items()}


def diff_versions(old: ParsedDefinition, new: ParsedDefinition) -> VersionDiff:
    """The steps added, removed and changed from old to new, in the old version's order."""
    old_specs, new_specs = _all_specs(old), _all_specs(new)
    diff = VersionDiff()
    for key, spec in old_specs.items():
        if not _is_visible_step(spec):
            continue
        summary = StepSummary(key[0], key[1], spec.bpmn_name, type(spec).__name__)
        if key not in new_specs:
            diff.removed.append(summary)
            continue
        changes = _compare(step_properties(old, spec), step_properties(new, new_specs[key]))
        if changes:
            diff.changed.append(StepChange(key[0], key[1], new_specs[key].bpmn_name, changes))
    for key, spec in new_specs.items():
        if key not in old_specs and _is_visible_step(spec):
            diff.added.append(StepSummary(key[0], key[1], spec.bpmn_name, type(spec).__name__))
    return diff


# -- moving a case --------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveCheck:
    """Whether a case may move, and if not, why (in words a designer can act on)."""

    ok: bool
    reason: str | None = None
    reasons: tuple[str, ...] = ()  # every reason found, the most direct first
    # when every reason holds only in the round of a loop the case is in: that loop's id
    # (the case can move once it starts its next round)
    next_round: str | None = None


def current_steps(workflow: Any) -> list[str]:
    """The steps a case is at now: ready tasks and events it waits for, in tree order."""
    steps: list[str] = []
    for each in workflows_of(workflow):
        for task in each.get_tasks(state=TaskState.READY | TaskState.WAITING,
                                   skip_subprocesses=True):
            spec = task.task_spec
            if getattr(spec, "bpmn_id", None) and spec.bpmn_id not in steps:
                steps.append(spec.bpmn_id)
    return steps


class _Comparer:
    """Compares steps of two versions lazily, each step once: an old step (by its key in the
    old version) with its counterpart in the new one (the same id, or its new name)."""

    def __init__(self, old: ParsedDefinition, new: ParsedDefinition,
                 renames: Renames | None = None) -> None:
        self.old, self.new = old, new
        self.renames = renames if renames is not None else Renames(old, new)
        self.old_specs, self.new_specs = _all_specs(old), _all_specs(new)
        self._changes: dict[StepKey, dict[str, dict[str, Any]]] = {}
        self._described: dict[StepKey, tuple[dict[str, Any], dict[str, Any]]] = {}

    def new_spec(self, key: StepKey) -> Any:
        """The old step's counterpart in the new version (None: removed)."""
        return self.new_specs.get(self.renames.key(key))

    def changes(self, key: StepKey, *, with_inputs: bool) -> dict[str, dict[str, Any]]:
        if key not in self._changes:
            old_spec, new_spec = self.old_specs[key], self.new_spec(key)
            old = self._renamed(step_properties(self.old, old_spec))
            new = step_properties(self.new, new_spec)
            found = {k: v for k, v in _compare(old, new).items() if k not in COSMETIC_KINDS}
            old_inputs = self.renames.names(s.name for s in old_spec.inputs)
            new_inputs = [s.name for s in new_spec.inputs]
            if sorted(old_inputs) != sorted(new_inputs):
                found["inputs"] = {"from": old_inputs, "to": new_inputs}
            self._changes[key] = found
            self._described[key] = (old, new)
        found = self._changes[key]
        return found if with_inputs else {k: v for k, v in found.items() if k != "inputs"}

    def described(self, key: StepKey) -> tuple[dict[str, Any], dict[str, Any]]:
        """The step as each version describes it, the old one with the new names of the
        steps it names (after changes(key))."""
        return self._described[key]

    def _renamed(self, described: dict[str, Any]) -> dict[str, Any]:
        """An old step described with the steps it names (what comes next, a decision's
        branches) by their new names."""
        if not self.renames:
            return described
        conditions = described.get("conditions")
        if conditions is not None:
            conditions = {
                "branches": [(self.renames.names([target])[0], condition)
                             for target, condition in conditions["branches"]],
                "default": self.renames.names([conditions["default"]])[0]}
        other = described.get("other")
        if isinstance(other, dict):  # a loop's round, a subprocess: named by the step's id
            other = {key: self.renames.names([value])[0] if key in ("task_spec", "spec")
                     else value for key, value in other.items()}
        return {**described, "order": self.renames.names(described["order"]),
                "conditions": conditions, "other": other}


def check_move(workflow: Any, old: ParsedDefinition, new: ParsedDefinition,
               done_steps: Mapping[str, set[str]], *, version_label: str = "the new version",
               renames: Renames | None = None) -> MoveCheck:
    """Whether the case may move from old to new (see the module docstring for the rules).

    done_steps: per process, the steps the case completed that are no longer in its (compacted)
    task tree. renames: steps renamed from old to new (default: those the new version
    declares).
    """
    check = MoveChecker(_Comparer(old, new, renames), version_label, workflow, done_steps)
    tasks = [(each.spec.name, task) for each in workflows_of(workflow)
             for task in each.tasks.values()]
    # The most direct reason first: where the case is now, then what it did before.
    reasons = [*check.current_steps(tasks), *check.unfinished_steps(tasks),
               *check.completed_steps(tasks)]
    found = tuple(reason for reason in reasons if reason)
    loops = {check.rounds.get(reason) for reason in found}
    loop = loops.pop() if len(loops) == 1 else None
    return MoveCheck(not found, found[0] if found else None, found, loop)


def move(workflow: Any, new: ParsedDefinition, renames: Renames | None = None) -> None:
    """Point a checked case at the new version's specs and predict its future again.

    Call only after check_move said ok: it assumes every unfinished-but-definite task's step
    exists in the new version (under its new name, for a renamed step).
    """
    rename = renames if renames is not None else (lambda name: name)
    workflow.spec = new.spec
    workflow.subprocess_specs = new.subprocess_specs
    for each in workflows_of(workflow):
        specs = new.spec if each is workflow else new.subprocess_specs[rename(each.spec.name)]
        each.spec = specs
        for task in list(each.tasks.values()):
            if task.id not in each.tasks:
                continue
            replacement = specs.task_specs.get(rename(task.task_spec.name))
            if replacement is None:  # a predicted or finished-and-cut task of a removed step
                if task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
                    _remove_subtree(each, task)
                    continue
                raise ValueError(f"step {task.task_spec.name!r} is not in the new version")
            task.task_spec = replacement
    if renames:
        _rename_done_steps(workflow, renames)
        _rename_round_records(workflow, renames.mapping)
    for each in workflows_of(workflow):
        frontier = [task for task in each.tasks.values()
                    if task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)]
        for task in frontier:
            if task.id in each.tasks:
                _predict_again(each, task)


def _rename_done_steps(workflow: Any, renames: Renames) -> None:
    done = done_steps(workflow)
    renamed = {renames(process): {renames(step) for step in steps}
               for process, steps in done.items()}
    done.clear()
    done.update(renamed)


def _rename_round_records(workflow: Any, mapping: Mapping[str, str]) -> None:
    """A renamed repeat's rounds move to its new id in the case data (the DSL keeps them
    under the repeat's id, and the answers of the round under way beside them), so its
    rounds carry on from where they were rather than starting again."""
    names = {**{old: new for old, new in mapping.items()},
             **{f"{ROUND_ANSWERS_PREFIX}{old}": f"{ROUND_ANSWERS_PREFIX}{new}"
                for old, new in mapping.items()}}
    datas = [workflow.data, *(task.data for each in workflows_of(workflow)
                              for task in each.tasks.values())]
    for data in datas:
        moving = {old for old, new in names.items() if old in data and new not in data and (
            old.startswith(ROUND_ANSWERS_PREFIX)
            or (isinstance(data[old], dict) and "rounds" in data[old]))}
        if moving:  # renamed in place: equal data stays equal, key order and all
            renamed = {names[key] if key in moving else key: value
                       for key, value in data.items()}
            data.clear()
            data.update(renamed)


def _remove_subtree(workflow: Any, task: Any) -> None:
    workflow._remove_task(task.id)


def _predict_again(workflow: Any, task: Any) -> None:
    """Drop the predicted continuation of a live task and predict it from its (new) spec.

    A started task (a running subprocess or loop) keeps its real children, the rounds or
    instances it runs; only the steps predicted to follow it are replaced.
    """
    outputs = list(task.task_spec.outputs)
    names = {spec.name for spec in outputs}
    started = task.has_state(TaskState.STARTED)
    for child in list(task.children):
        unstarted = child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE)
        if unstarted and not child.triggered and (
                not started or child.task_spec.name in names
                or child.task_spec.name not in workflow.spec.task_specs):
            workflow._remove_task(child.id)
    if not started:
        task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | task.state)
        return
    present = {child.task_spec.name for child in task.children}
    for spec in outputs:
        if spec.name not in present:
            child = task._add_child(spec, TaskState.FUTURE)
            spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)

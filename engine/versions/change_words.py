"""What changed between two versions, in the words a programme designer uses (issue 14,
item 4): "option 'very high' added", "now required", "a task for a person added"; never a
BPMN or SpiffWorkflow type name such as UserTask."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.versions.form_compat import field_options
from engine.versions.migration import StepChange, StepSummary, VersionDiff

KIND_OF_STEP: dict[str, str] = {
    "UserTask": "task for a person", "ManualTask": "task for a person",
    "NoneTask": "step", "ScriptTask": "automatic step", "ServiceTask": "automatic step",
    "BusinessRuleTask": "decision table", "SendTask": "message sent",
    "ReceiveTask": "wait for a message", "CallActivity": "another pathway called",
    "SubWorkflowTask": "group of steps", "TransactionSubprocess": "group of steps",
    "ExclusiveGateway": "decision", "InclusiveGateway": "decision where several may apply",
    "ParallelGateway": "branches at the same time", "EventBasedGateway": "wait for the first event",
    "ComplexGateway": "join on a condition, or decision where several may apply",
    "StartEvent": "start", "EndEvent": "end", "IntermediateCatchEvent": "wait",
    "IntermediateThrowEvent": "signal or message sent", "BoundaryEvent": "event on a step",
}
_WHAT = {"type": "kind of step", "title": "title", "instructions": "instructions",
         "role": "who does it", "conditions": "the decision's conditions",
         "timer": "timer", "order": "what comes next", "script": "automatic calculation",
         "properties": "settings", "other": "other settings"}
_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "boolean": "yes/no", "array": "a list", "object": "a group of fields"}


@dataclass(frozen=True)
class ChangeLine:
    """One step added, removed or changed, said in words."""

    how: str  # "added", "removed" or "changed"
    step: str  # its id (what the diagrams mark)
    process: str
    title: str
    details: tuple[str, ...] = ()


def kind_of_step(type_name: str) -> str:
    """A step's kind in words (its class name only when nothing better is known)."""
    return KIND_OF_STEP.get(type_name, "step")


def describe(diff: VersionDiff) -> list[ChangeLine]:
    """Every step added, removed and changed, each with what changed in words."""
    found = [_summary("added", step) for step in diff.added]
    found += [_summary("removed", step) for step in diff.removed]
    found += [ChangeLine("changed", change.step, change.process,
                         change.title or change.step, tuple(_details(change)))
              for change in diff.changed]
    return found


def _summary(how: str, step: StepSummary) -> ChangeLine:
    return ChangeLine(how, step.step, step.process, step.title or step.step,
                      (f"a {kind_of_step(step.type)} {how}",))


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _details(change: StepChange) -> list[str]:
    lines: list[str] = []
    for kind, detail in change.changes.items():
        if kind == "form":
            lines += _form_words(detail)
        elif kind == "form_labels":
            fields = detail.get("fields") or []
            lines.append(f"labels or help of {', '.join(_quoted(f) for f in fields)} changed"
                         if fields else "the form's wording changed")
        elif kind == "title":
            lines.append(f"title {_quoted(detail['from'])} → {_quoted(detail['to'])}")
        elif kind == "type":
            lines.append(f"kind of step: was a {kind_of_step(str(detail['from']))}, now a "
                         f"{kind_of_step(str(detail['to']))}")
        elif kind == "role":
            lines.append(f"now done by {detail['to'] or 'anyone'} "
                         f"(was {detail['from'] or 'anyone'})")
        elif kind == "order":
            lines.append(f"what comes next: now {_steps(detail['to'])} "
                         f"(was {_steps(detail['from'])})")
        else:
            lines.append(f"{_WHAT.get(kind, kind)} changed")
    return lines


def _steps(found: Any) -> str:
    names = [str(step) for step in (found or [])]
    return ", ".join(names) if names else "nothing"


def _form_words(detail: Mapping[str, Any]) -> list[str]:
    lines = [f"field {_quoted(name)} added" for name in detail.get("fields_added") or []]
    lines += [f"field {_quoted(name)} removed" for name in detail.get("fields_removed") or []]
    for name in detail.get("fields_changed") or []:
        change = (detail.get("field_changes") or {}).get(name)
        said = _field_words(change["from"], change["to"]) if change else []
        lines += [f"field {_quoted(name)}: {words}" for words in said or ["settings changed"]]
    return lines or ["the form's settings changed"]


def _field_words(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed in one form field: its options, type, being required, its limits."""
    lines: list[str] = []
    before, after = field_options(old), field_options(new)
    if before is not None and after is not None:
        lines += [f"option {_quoted(o)} added" for o in after if o not in before]
        lines += [f"option {_quoted(o)} removed" for o in before if o not in after]
    if old.get("type") != new.get("type"):
        lines.append(f"now {_TYPE_WORDS.get(str(new.get('type')), str(new.get('type')))} "
                     f"(was {_TYPE_WORDS.get(str(old.get('type')), str(old.get('type')))})")
    if old.get("required") != new.get("required"):
        lines.append("now required" if new.get("required") else "no longer required")
    skip = {"enum", "items", "type", "required"}
    for key in sorted((set(old) | set(new)) - skip):
        if old.get(key) != new.get(key):
            lines.append(f"{key.replace('_', ' ')} {_said(old.get(key))} → {_said(new.get(key))}")
    return lines


def _said(value: Any) -> str:
    return "not set" if value is None else _quoted(value)

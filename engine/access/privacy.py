"""One rule for hiding what reveals health or offence data; every view and export calls it.

A value can be hidden and still be inferred from what is around it: the task "Refer to
substance misuse services", the decision of the gateway that reads the hidden answer, a
field only that task sets, a referral to a mental health pathway, or a case on it. So
sensitivity follows the data (engine.workflow.definitions derives it: `ParsedDefinition.
sensitive_steps`, `step_fields`, `sensitive_pathway`), and a `Redactor` applies it for one
viewer, who sees the categories `visible` (engine.access.visible_categories; none for a
redacted export):

* a case on a sensitive pathway is left out, with its events and tasks;
* an event about a sensitive step, gateway or flow, or naming a sensitive pathway (a
  referral, its messages) is left out of the timeline (not replaced by a placeholder: where
  and how often one appears would say as much; a record says instead, whatever it holds,
  which categories are not shown);
* a task of a sensitive step is left out, unless the viewer may do it;
* in case, event and client data, a field marked sensitive (present for every client who
  answered the form) shows `HIDDEN`; a field that only a sensitive step sets (its form's
  fields, a referral's result, an exit reason only a sensitive end gives) is left out, since
  its mere presence would tell.

The subject access export (Casework.export_client) does not come here: it shows everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.access.rules import HIDDEN
from engine.model import CaseRecord, Client, Event, InboxTask
from engine.summary_ports import HiddenSteps
from engine.workflow.definition_model import SENSITIVE_CATEGORIES

if TYPE_CHECKING:  # loading definitions loads SpiffWorkflow: not for reading storage
    from engine.workflow.definitions import ParsedDefinition

# the category of a value hidden because a version that cannot be loaded may mark it
UNCLASSIFIED = "unclassified"

_PREFIXES = ("start:", "completed:")  # messages that name a pathway (engine.workflow.runner)


@dataclass(frozen=True)
class Sensitivity:
    """What is sensitive across the definitions a view or export touches."""

    definitions: Mapping[tuple[str, int], ParsedDefinition]
    pathways: Mapping[str, str]  # sensitive pathway -> category (marked on any version)
    marked: Mapping[str, str]  # field (case data, client) whose value is hidden -> category
    client_dropped: Mapping[str, str]  # client field only sensitive steps save -> category
    # versions whose definition cannot be loaded: what they mark sensitive is unknown, so
    # their cases, events and tasks are shown to no one the Redactor does not let see them
    unknown: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def of(cls, definitions: Iterable[tuple[str, int, ParsedDefinition]], *,
           unknown: Iterable[tuple[str, int]] = ()) -> Sensitivity:
        """From (pathway, version, definition): the cases' versions and every pathway's
        latest (a referral's target is judged by its own definition); unknown: the versions
        among them whose definition cannot be loaded."""
        found: dict[tuple[str, int], ParsedDefinition] = {}
        pathways: dict[str, str] = {}
        marked: dict[str, str] = {}
        dropped: dict[str, str] = {}
        for pathway, version, definition in definitions:
            if (pathway, version) in found:
                continue
            found[(pathway, version)] = definition
            if definition.sensitive_pathway:
                pathways.setdefault(pathway, definition.sensitive_pathway)
            marked.update(definition.sensitive_fields())
            explicit = definition.sensitive_client(steps=False)
            marked.update(explicit)
            for name, category in definition.sensitive_client().items():
                if name not in explicit:
                    dropped.setdefault(name, category)
        return cls(found, pathways, marked, {k: v for k, v in dropped.items()
                                             if k not in marked}, frozenset(unknown))

    def pathway(self, pathway: str) -> str | None:
        return self.pathways.get(pathway)

    def step(self, pathway: str, version: int, step: str | None) -> str | None:
        """The category a step (gateway, flow) of a version reveals: its pathway's, its own,
        or, for a referral, the category of the pathway it refers to."""
        if (category := self.pathway(pathway)) is not None:
            return category
        definition = self.definitions.get((pathway, version))
        if definition is None or step is None:
            return None
        if (category := definition.sensitive_steps.get(step)) is not None:
            return category
        target = definition.referrals.get(step)
        return self.pathway(target) if target is not None else None

    def event(self, case: CaseRecord, event: Event) -> str | None:
        """The category an event reveals: its case's pathway, its step, or any step or
        pathway its data names (a decision's branch, a referral, a message, a migration)."""
        category = self.step(case.pathway, case.version, event.step)
        if category is not None:
            return category
        for text in _strings(event.data):
            category = self.message(case, text)
            if category is not None:
                return category
        return None

    def message(self, case: CaseRecord, name: str) -> str | None:
        """The category a name reveals: a sensitive pathway (also as the message that starts
        it or says it completed) or a sensitive step of the case's version."""
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        return self.pathway(name) or self._named_step(case, name)

    def _named_step(self, case: CaseRecord, name: str) -> str | None:
        definition = self.definitions.get((case.pathway, case.version))
        if definition is None:
            return None
        if name in definition.sensitive_steps:
            return definition.sensitive_steps[name]
        target = definition.referrals.get(name)
        return self.pathway(target) if target is not None else None

    def dropped(self, case: CaseRecord) -> dict[str, str]:
        """Fields of the case's data (and its events' data) whose presence alone tells."""
        out = dict(self.client_dropped)
        definition = self.definitions.get((case.pathway, case.version))
        if definition is None:
            return out
        out.update(definition.step_fields)
        for variable, target in definition.referral_results.items():
            if (category := self.pathway(target)) is not None:
                out.setdefault(variable, category)
        reasons = {reason: definition.sensitive_steps.get(element)
                   for element, reason in definition.exit_reasons.items()}
        open_reasons = {reason for element, reason in definition.exit_reasons.items()
                        if element not in definition.sensitive_steps}
        reason = case.exit_reason  # events carry it as `exit_reason` too (case_completed)
        if isinstance(reason, str) and reason not in open_reasons and reasons.get(reason):
            out["exit_reason"] = str(reasons[reason])
        return out


def hides(hidden: HiddenSteps, version: int, event: Event) -> bool:
    """Whether the dashboard's per-step figures leave the event, of a case on `version`,
    out (see HiddenSteps)."""
    steps = hidden.steps.get(version, frozenset())
    return (version in hidden.versions or (event.step is not None and event.step in steps)
            or not names_in(event.data).isdisjoint(steps | hidden.everywhere))


def names_in(data: Any) -> frozenset[str]:
    """Every string in an event's data with a message prefix taken off, as `message` reads
    it: what a summary keeps so the rule can be applied to the event later."""
    found = set()
    for name in _strings(data):
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        found.add(name)
    return frozenset(found)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


@dataclass
class Redactor:
    """What one viewer sees: everything but what reveals a category outside `visible`.

    may_do: whether the viewer may do an open task (they then see it, sensitive or not).
    sees_unknown: whether the viewer sees the cases of versions whose definition cannot be
    loaded (Sensitivity.unknown): only an admin (engine.access.may_see_unloadable).
    hidden: field name -> category, for every value hidden or left out so far.
    """

    sensitivity: Sensitivity
    visible: frozenset[str]
    may_do: Callable[[InboxTask], bool] = lambda task: False
    sees_unknown: bool = False
    hidden: dict[str, str] = field(default_factory=dict)
    hidden_entries: int = 0  # events and cases left out so far

    def hides(self, category: str | None) -> bool:
        return category is not None and category not in self.visible

    def withholds(self, pathway: str, version: int) -> bool:
        """Whether everything of this version is withheld: its definition cannot be loaded,
        so what it makes sensitive cannot be told, and the viewer is not an admin."""
        return (pathway, version) in self.sensitivity.unknown and not self.sees_unknown

    @property
    def hidden_categories(self) -> list[str]:
        return sorted(set(self.hidden.values()))

    def value(self, value: Any, dropped: Mapping[str, str] | None = None,
              record: bool = True) -> Any:
        """value with the sensitive fields the viewer may not see hidden (marked) or left
        out (dropped), at any depth. record: note them in `hidden`."""
        dropped = dropped if dropped is not None else self.sensitivity.client_dropped
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                category = dropped.get(key)
                if self.hides(category):
                    continue
                category = self.sensitivity.marked.get(key)
                if self.hides(category):
                    out[key] = HIDDEN
                    if record:
                        self.hidden[key] = str(category)
                else:
                    out[key] = self.value(item, dropped, record)
            return out
        if isinstance(value, list):
            return [self.value(item, dropped, record) for item in value]
        return value

    def client(self, client: Client) -> Client:
        fields = self.value(client.fields)
        if self.sensitivity.unknown and not self.sees_unknown \
                and not frozenset(SENSITIVE_CATEGORIES) <= self.visible:
            # a version that cannot be loaded may mark any of these sensitive: none can be
            # told safe, so all are hidden until an admin mends or retires that version
            for key in fields:
                if fields[key] != HIDDEN:
                    fields[key] = HIDDEN
                    self.hidden[key] = UNCLASSIFIED
        return replace(client, fields=fields)

    def case(self, case: CaseRecord) -> CaseRecord | None:
        """The case with its data redacted, or None when its pathway is itself sensitive (or
        its version cannot be loaded and the viewer is not an admin)."""
        if self.hides(self.sensitivity.pathway(case.pathway)) or self.withholds(
                case.pathway, case.version):
            self.hidden_entries += 1
            return None
        dropped = self.sensitivity.dropped(case)
        error = self.value(case.error, dropped)
        if isinstance(error, dict) and self.hides(self.sensitivity.step(
                case.pathway, case.version, str(error.get("step") or "") or None)):
            error = {"message": HIDDEN}  # it names the sensitive step it failed at
        waiting = [name for name in case.waiting_for
                   if not self.hides(self.sensitivity.message(case, name))]
        exit_reason = case.exit_reason
        if self.hides(dropped.get("exit_reason")):  # the end it reached is sensitive
            exit_reason = None
        return replace(case, data=self.value(case.data, dropped), error=error,
                       waiting_for=waiting, exit_reason=exit_reason)

    def events(self, case: CaseRecord, events: Iterable[Event]) -> list[Event]:
        """The events the viewer may see, their data redacted."""
        if self.hides(self.sensitivity.pathway(case.pathway)) or self.withholds(
                case.pathway, case.version):
            return []
        dropped = self.sensitivity.dropped(case)
        shown = []
        for event in events:
            if self.hides(self.sensitivity.event(case, event)):
                self.hidden_entries += 1
                continue
            shown.append(replace(event, data=self.value(event.data, dropped)))
        return shown

    def task(self, task: InboxTask) -> bool:
        """Whether the viewer sees this open task: it reveals nothing they may not see, or
        they may do it. Never a task of a withheld version (see withholds)."""
        if self.withholds(task.pathway, task.version):
            return False
        return not self.hides(self.sensitivity.step(task.pathway, task.version, task.step)) \
            or self.may_do(task)

    def field_visible(self, case: CaseRecord, dotted: str) -> bool:
        """Whether the viewer may filter on (so learn of) this case data field."""
        names = dotted.split(".")
        dropped = self.sensitivity.dropped(case)
        return not any(self.hides(dropped.get(n)) or self.hides(self.sensitivity.marked.get(n))
                       for n in names)

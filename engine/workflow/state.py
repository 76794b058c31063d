"""A case's workflow state as stored: JSON without the spec, and kept small for long cases.

Two measured costs shape this module (shared/notes/spiffworkflow.md):

* half of a fresh case's JSON is its process spec; we leave the spec out and restore it from
  the spec cache by the version's hash, which halves the JSON and its parse time;
* every step adds tasks to SpiffWorkflow's task tree, and a gateway back-edge deepens it until
  SpiffWorkflow silently ends the case at about 250 iterations (trap 1) while each step costs
  more than the last (trap 2). `compact` cuts the finished history above the live part of the
  tree after each command. That history is not lost: the event log holds every step.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.config import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import EngineError
from engine.model import STATE_FORMAT_VERSION
from engine.workflow.clock_timers import CLOCK_TIMERS
from engine.workflow.compensation import (
    CompensateEventDefinition,
    CompensateEventDefinitionConverter,
)
from engine.workflow.complex_gateway import ComplexGateway, ComplexGatewayConverter
from engine.workflow.conditional_events import ConditionalEvent
from engine.workflow.definitions import ParsedDefinition
from engine.workflow.implicit_flows import ImplicitSplit, ImplicitSplitConverter
from engine.workflow.multi_instance import Behaving, BehavingConverter
from engine.workflow.pruning import compact, done_steps

__all__ = ["SERIALIZER", "StateFormatError", "compact", "done_steps", "dump_state", "load_state"]

FORMAT_KEY = "pathways_state_format"
# Steps the case completed whose tasks `compact` cut from the tree, per process id: a
# migration must know everything a case has done, not only what its tree still shows.
DONE_KEY = "pathways_done_steps"
_SPEC_OBJECTS = "__pathways_spec_objects__"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes a workflow without its specs; reads one back with specs handed in."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self.mapping_to_dict(workflow.tasks),
            "root": str(workflow.task_tree.id),
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": self.registry.convert(workflow.bpmn_events),
        }
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        spec, subprocess_specs = dct.pop(_SPEC_OBJECTS)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's serializer, without specs, knowing Pathways' clock-aware timers.

    An event-based gateway keeps the events it saw in its task's internal data, and a timer
    event carries its definition: without a converter for each of our timer classes (by
    their own name, so they come back as the same class the gateway compares them with) a
    case whose gateway timer fired could no longer be saved. An activity's ImplicitSplit is
    written as a gateway's conditions (for the diff; specs are never stored).
    """
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[ImplicitSplit] = ImplicitSplitConverter
    config[ComplexGateway] = ComplexGatewayConverter
    config[Behaving] = BehavingConverter  # a multi-instance's behaviour, for the diff
    config[CompensateEventDefinition] = CompensateEventDefinitionConverter
    for timer_class in CLOCK_TIMERS.values():
        config[timer_class] = TimerConditionalEventDefinitionConverter
    config[ConditionalEvent] = TimerConditionalEventDefinitionConverter  # (a gateway saw one)
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()


class StateFormatError(EngineError):
    """A stored case state this engine cannot read: another format, or damaged (edited by
    hand, cut short, written by a faulty upgrade). Names the case; nothing was changed."""

    code = "state_format"


def dump_state(workflow: Any) -> dict[str, Any]:
    """The JSON-ready state of a workflow, without its spec."""
    state: dict[str, Any] = SERIALIZER.to_dict(workflow)
    state[FORMAT_KEY] = STATE_FORMAT_VERSION
    state[DONE_KEY] = {process: sorted(steps) for process, steps in
                       sorted(done_steps(workflow).items())}
    state[BpmnWorkflowSerializer.VERSION_KEY] = SERIALIZER.VERSION
    return state


def parents_first(tasks: dict[str, Any], root: str) -> dict[str, Any]:
    """The task mapping ordered so every task comes after its parent.

    SpiffWorkflow stores a task's data as a delta from its parent's and rebuilds it in
    mapping order, so a child read before its parent silently loses its data. Storage may
    not keep key order (PostgreSQL's JSONB sorts keys), hence this reordering on every load.
    """
    ordered: dict[str, Any] = {}
    stack = [root]
    while stack:
        task_id = stack.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        stack.extend(reversed(task.get("children", [])))
    for task_id, task in tasks.items():  # anything unreachable keeps its place at the end
        ordered.setdefault(task_id, task)
    return ordered


def load_state(state: dict[str, Any], parsed: ParsedDefinition, script_engine: Any, *,
               case_id: int | None = None) -> Any:
    """Rebuild a live workflow from stored state and the cached spec of its version.

    A state that cannot be read, whatever is wrong inside it, is a StateFormatError naming
    case_id: SpiffWorkflow's own errors on a damaged state (KeyError, ValueError on a task
    id, TypeError...) say nothing about which case or why.
    """
    which = f"case {case_id}" if case_id is not None else "a case"
    version = state.get(FORMAT_KEY) if isinstance(state, dict) else None
    if version != STATE_FORMAT_VERSION:
        raise StateFormatError(
            f"the stored state of {which} has format {version!r}; this engine reads format "
            f"{STATE_FORMAT_VERSION}", details={"format": version, "case": case_id})
    try:
        return _rebuild(state, parsed, script_engine)
    except RecursionError as err:
        raise StateFormatError(f"the stored state of {which} is too deep to read",
                               details={"case": case_id, "reason": "too deep"}) from err
    except Exception as err:  # whatever fails here, the state is damaged
        reason = f"{type(err).__name__}: {err}"[:300]
        raise StateFormatError(
            f"the stored state of {which} is damaged and cannot be read ({reason}); "
            f"nothing was changed: restore the case from a backup",
            details={"case": case_id, "reason": reason}) from err


def _rebuild(state: dict[str, Any], parsed: ParsedDefinition, script_engine: Any) -> Any:
    dct = {k: v for k, v in state.items() if k not in (FORMAT_KEY, DONE_KEY)}
    dct["tasks"] = parents_first(dct["tasks"], dct["root"])
    dct["subprocesses"] = {
        key: {**sub, "tasks": parents_first(sub["tasks"], sub["root"])}
        for key, sub in dct.get("subprocesses", {}).items()}
    SERIALIZER.migrate(dct)
    dct[_SPEC_OBJECTS] = (parsed.spec, parsed.subprocess_specs)
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    workflow.pathways_done_steps = {
        process: set(steps) for process, steps in state.get(DONE_KEY, {}).items()}
    return workflow

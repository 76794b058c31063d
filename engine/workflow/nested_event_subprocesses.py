"""Event subprocesses inside an embedded subprocess, armed while it runs (BPMN 2.0.2 §10.3.5).

SpiffWorkflow 3.2 starts a process's event subprocess when its trigger arrives only at process
level (its event manager looks at the top process's start alone): one inside an embedded
subprocess was kept in that subprocess's triggers and never started (or, with a timer start,
started at once beside the normal flow). Here the process parser gives each enclosing
subprocess, for every start event of its event subprocesses, a waiting catch event of its own
(`EventSubprocessArm`, one of SpiffWorkflow's catching events): the subprocess's start makes
it wait, so it is armed exactly while the subprocess runs, and it waits in the subprocess's
own scope (an error or escalation thrown inside reaches it before any boundary event on the
subprocess: engine.workflow.nested_event_throws). A timer start's time is kept by the arm, the
start event itself made untimed, so the event subprocess goes on at once when the arm starts it.

When its trigger arrives the arm starts the event subprocess as SpiffWorkflow starts a
process-level one (the start's trigger_wf) and hands the event on to its start event; the arm
itself stays armed, so a non-interrupting one fires again on the next trigger, while an
interrupting start cancels it with the rest of the subprocess's work
(engine.workflow.bpmn_events.EventSubprocessStartEvent). The subprocess's end join does not
wait for arms and disarms them when it completes: the subprocess ends when its normal work
(and any event subprocess running) has, and its event subprocesses never fire after that.
Nothing here is serialized: an arm's task is an ordinary catching task whose spec is parsed.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.workflow.bpmn_xml import BPMN_NS
from engine.workflow.compensation import compensation_event_subprocesses
from engine.workflow.joins import MergingEndJoin, with_merging_end
from engine.workflow.links import LinkingProcessParser

_EVENT_SUBPROCESS = f"{{{BPMN_NS}}}subProcess[@triggeredByEvent='true']"


class EventSubprocessArm(CatchingEvent, BpmnSpecMixin):  # type: ignore[misc]
    """Waits, in the enclosing subprocess, for the trigger of one start event of one of its
    event subprocesses, and starts that event subprocess each time the trigger arrives."""

    def __init__(self, wf_spec: Any, name: str, event_definition: Any, *,
                 event_subprocess: str, start_event: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, event_definition, **kwargs)
        self.event_subprocess = event_subprocess
        self.start_event = start_event

    def catches(self, my_task: Any, event: Any) -> bool:
        # SpiffWorkflow hands an error or escalation to every waiting catcher of the case,
        # whatever subprocess threw it: engine.workflow.nested_event_throws hands it to the
        # arm of the innermost scope instead, so the arm answers only messages and signals
        if isinstance(self.event_definition, CodeEventDefinition):
            return False
        return bool(super().catches(my_task, event))

    def catch(self, my_task: Any, event: Any) -> None:
        """Start the event subprocess with the event caught by its start event; stay armed."""
        started = self._start_event_subprocess(my_task)
        if started is not None:
            started.task_spec.catch(started, event)
            started.task_spec._update(started)

    def _update_hook(self, my_task: Any) -> Any:
        """A timer's time came: start the event subprocess, its start event fired now (not
        after a timer of its own). A duration or a date goes off once, then disarms; a cycle
        stays armed until its repetitions are spent."""
        definition = self.event_definition
        if isinstance(definition, CycleTimerEventDefinition):
            if definition.cycle_complete(my_task):
                self._start_timed(my_task)
            if definition.has_fired(my_task):  # every repetition went off
                my_task.cancel()
            else:
                if my_task.state != TaskState.WAITING:
                    my_task._set_state(TaskState.WAITING)
                my_task.workflow.top_workflow.event_manager.add_task(my_task)
            return False
        if isinstance(definition, TimerEventDefinition) and definition.has_fired(my_task):
            self._start_timed(my_task)
            my_task.cancel()
            return False
        return super()._update_hook(my_task)

    def _start_timed(self, my_task: Any) -> None:
        self._start_event_subprocess(my_task)  # its start event, untimed, goes on at once

    def _start_event_subprocess(self, my_task: Any) -> Any:
        """Start the event subprocess (as SpiffWorkflow starts a process-level one) and return
        its start event's task, waiting for the trigger."""
        workflow = my_task.workflow
        child_id = workflow.spec.start.trigger_wf(workflow.task_tree, self.event_subprocess)
        subworkflow = workflow.top_workflow.subprocesses.get(child_id)
        if subworkflow is None:
            return None
        # trigger_wf adds the task without its successor (at process level nothing follows):
        # here the subprocess's end join, which completes the subprocess after it
        child = workflow.get_task_from_id(child_id)
        child._sync_children(child.task_spec.outputs, TaskState.FUTURE)
        for successor in child.children:
            successor.task_spec._predict(successor, mask=TaskState.PREDICTED_MASK
                                         | TaskState.FUTURE)
        return subworkflow.get_next_task(state=TaskState.WAITING, spec_name=self.start_event)


class _EventScopeEndJoin(MergingEndJoin):
    """The end of a subprocess with event subprocesses: it does not wait for their arms, and
    disarms them as the subprocess completes."""

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        return not any(task is not my_task and not isinstance(task.task_spec, EventSubprocessArm)
                       for task in TaskIterator(my_task.workflow.task_tree,
                                                state=TaskState.NOT_FINISHED_MASK,
                                                end_at_spec=self.name))

    def _run_hook(self, my_task: Any) -> Any:
        for task in list(my_task.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
            if isinstance(task.task_spec, EventSubprocessArm) and task.workflow is my_task.workflow:
                task.cancel()
        return super()._run_hook(my_task)


class NestedEventSubprocessParser(LinkingProcessParser):
    """The process parser, arming the event subprocesses of an embedded subprocess."""

    def add_tasks(self) -> None:
        super().add_tasks()
        with_merging_end(self.spec)  # every process's end merges as our joins do
        if self.node.tag != f"{{{BPMN_NS}}}process":
            arm_event_subprocesses(self)  # a process's own: see arm_called_processes


def arm_called_processes(parser: Any, pathway: str, specs: dict[str, Any]) -> None:
    """Arm the event subprocesses of each process the pathway calls (a call activity): it
    runs as a subprocess of the case, where SpiffWorkflow would never start them (only the
    case's own process's, engine.workflow.bpmn_events). A timer start there interrupts too."""
    from engine.workflow.bpmn_events import EventSubprocessStartEvent  # (imports this module)

    for name in specs:
        process_parser = parser.process_parsers.get(name)
        if name == pathway or process_parser is None \
                or process_parser.node.tag != f"{{{BPMN_NS}}}process":
            continue
        for start_event in arm_event_subprocesses(process_parser):
            node = process_parser.get_node_by_id(start_event.bpmn_id)
            if type(start_event) is not EventSubprocessStartEvent and node is not None:
                start_event.__class__ = EventSubprocessStartEvent
                start_event.interrupting = node.get("isInterrupting", "true").lower() != "false"


def arm_event_subprocesses(process_parser: Any) -> list[Any]:
    """Give the process parser's (sub)process an arm per start event of each of its event
    subprocesses, and its end join that does not wait for them; the timer starts made
    untimed are returned."""
    spec, untimed = process_parser.spec, []
    start = spec.start
    undoing = compensation_event_subprocesses(process_parser.node)
    for node in process_parser.node.iterfind(_EVENT_SUBPROCESS):
        if node in undoing:
            continue  # started by compensating its subprocess (engine.workflow.compensation)
        name = node.get("id")
        event_subprocess = spec.task_specs[name]
        if name not in start.trigger_specs:  # a timer start: SpiffWorkflow started it at
            start.outputs = [s for s in start.outputs if s is not event_subprocess]
            start.trigger_specs.append(name)  # once; here it waits for its time
        sub_spec = process_parser.parser.process_parsers[event_subprocess.spec].get_spec()
        for start_event in sub_spec.bpmn_start_events:
            definition = start_event.event_definition
            thrown_class = getattr(definition, "thrown_class", None)
            if thrown_class is not None:  # match as a catch does (no event-subprocess rule)
                definition = copy(definition)
                definition.__class__ = thrown_class
            if isinstance(definition, TimerEventDefinition):
                # the arm keeps the time; the event subprocess starts when it comes
                start_event.event_definition = NoneEventDefinition()
                untimed.append(start_event)
            arm = EventSubprocessArm(spec, f"{start_event.name}.armed", definition,
                                     event_subprocess=name, start_event=start_event.name)
            arm.bpmn_id = start_event.bpmn_id  # its timer is shown as the start event's
            start.connect(arm)
    if start.trigger_specs:
        spec.end.__class__ = _EventScopeEndJoin
    return untimed

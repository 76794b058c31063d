"""A non-interrupting boundary event stays armed while its activity runs (BPMN 2.0.2).

BPMN 2.0.2 §10.5.6 (Handling Events: "Non-interrupting ... the Activity continues") and
§13.5.3: a boundary event with cancelActivity="false" is attached to its activity for as long
as the activity runs, so each time its trigger occurs its path starts again beside the
activity. SpiffWorkflow 3.2 arms the boundary event once per run of the activity: the first
message caught runs the handler and the second is not caught any more (the case does not even
wait for it).

`RearmingBoundaryEvent` is the boundary event the parser builds (engine.workflow.bpmn_events):
when a non-interrupting one with a message, signal or escalation trigger goes off, a new task
of the same event is put back beside the first, under the activity's BoundaryEventSplit, and
waits for the next occurrence. SpiffWorkflow's BoundaryEventJoin cancels every waiting
boundary event under that split when the activity finishes, so the re-armed one is gone then
too. Nothing else needs storing: the new task is an ordinary task of the event's spec, saved
and reloaded with the case.

A duration or date timer occurs once: it is not re-armed. A cycle timer (R3/PT1H) goes off by
rounds: SpiffWorkflow adds the path's tasks each round without the event ever completing, so
the activity's completion cancelled the handlers under it, and an interrupting one never
interrupted. Here each round is a run of the event: it completes and its path starts (an
interrupting one then cancels the activity), and a non-interrupting one's remaining rounds
wait on a task put back beside it, like a message's next occurrence.

Conditional events are not re-armed here (BPMN: they go off when their condition becomes
true, not while it is), nor is a DSL `when:` handler's message
(engine.workflow.conditions sends it while its condition holds: re-armed, it would go off
again after every step; it stays once per run of its block).
"""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.workflow.conditions import is_condition_message
from engine.workflow.interrupts import AnswerKeepingBoundaryEvent

_ROUNDS_LEFT = "pathways_rounds_left"  # a cycle's rounds, from the one gone off to the next
_REPEATABLE = (MessageEventDefinition, SignalEventDefinition, EscalationEventDefinition)


class RearmingBoundaryEvent(AnswerKeepingBoundaryEvent):
    """A boundary event that, non-interrupting, waits again each time it goes off."""

    @property
    def _repeats(self) -> bool:
        return not self.cancel_activity and isinstance(self.event_definition, _REPEATABLE) \
            and not is_condition_message(str(getattr(self.event_definition, "name", "")))

    @property
    def _by_rounds(self) -> bool:
        return isinstance(self.event_definition, CycleTimerEventDefinition)

    def _update_hook(self, my_task: Any) -> Any:
        """A cycle timer goes off once per round like any event (its task completes, its path
        starts; SpiffWorkflow started the path but left the task waiting, so an interrupting
        one never interrupted); a non-interrupting one's rounds left wait on the task put
        back beside it.
        The task that went off keeps its round's due time (a date, as a duration timer's),
        so the case's events say when the round was due."""
        if self._by_rounds and my_task.state == TaskState.WAITING \
                and not self.event_definition.has_fired(my_task) \
                and self.event_definition.cycle_complete(my_task):
            left = my_task._get_internal_data("event_value")
            due = datetime.fromisoformat(left["next"]) - timedelta(seconds=left["duration"])
            my_task._set_internal_data(event_fired=True, event_value=due.isoformat(),
                                       **{_ROUNDS_LEFT: left})
        return super()._update_hook(my_task)

    def _on_ready_hook(self, my_task: Any) -> None:
        super()._on_ready_hook(my_task)
        rounds_left = my_task.internal_data.pop(_ROUNDS_LEFT, None)
        if rounds_left is not None:  # a round went off: SpiffWorkflow predicts no path here
            my_task._sync_children(self.outputs, TaskState.FUTURE)
            for child in my_task.children:
                child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        if self.cancel_activity or not (self._repeats or (
                isinstance(rounds_left, dict) and rounds_left.get("cycles") != 0)):
            return  # (an interrupting cycle's first round ends the activity, and it)
        split = my_task.parent
        activity = next((task for task in split.children
                         if not isinstance(task.task_spec, BoundaryEvent)), None)
        if activity is None or activity.has_state(TaskState.FINISHED_MASK):
            return  # the activity is no longer running: nothing to stay attached to
        again = split._add_child(self, TaskState.FUTURE)
        if self._by_rounds:
            again._set_internal_data(event_value=deepcopy(rounds_left))
        self._predict(again, mask=TaskState.NOT_FINISHED_MASK)  # its path, as SpiffWorkflow
        self._update(again)  # then it waits (WAITING, listening) for the next occurrence

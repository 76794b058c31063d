"""Which READY task must run before any other step: an interrupting boundary event, or the
start event of an interrupting event subprocess.

BPMN 2.0.2 §13.5.4: an interrupting event subprocess "cancels the execution of the enclosing
Sub-Process" once its start event occurs. A signal or escalation thrown by an intermediate
throw event inside an embedded subprocess starts that subprocess's interrupting event
subprocess (engine.workflow.nested_event_subprocesses), whose start event cancels the rest of
the subprocess when it runs (engine.workflow.bpmn_events.EventSubprocessStartEvent); but the
step after the throw was READY too and, a script task, ran first: work BPMN says was
cancelled (betsy's SignalIntermediateThrowEventSubprocessInterrupting and
EscalationStartEvent_EventSubProcess_Interrupting tests). engine.workflow.event_order runs
a READY task this predicate names before any other step, as it does interrupting boundary
events.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

from engine.workflow.bpmn_events import EventSubprocessStartEvent


def interrupts(task_spec: Any) -> bool:
    """Whether a task of this spec, once READY, cancels other work when it runs."""
    if isinstance(task_spec, BoundaryEvent):
        return bool(task_spec.cancel_activity)
    return isinstance(task_spec, EventSubprocessStartEvent) and task_spec.interrupting

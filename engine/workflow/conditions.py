"""Condition handlers (the DSL's block `when:`): a message boundary event whose message the
engine sends the case itself once a condition on the case's answers holds.

BPMN's conditional event would say this, but SpiffWorkflow 3.2 evaluates one on the data its
activity started with, so an answer given inside the block would never set it off. The
condition is checked after every run of the engine instead (engine.workflow.runner.run_engine),
on what the most recently finished step left behind; a condition that cannot be evaluated yet
(it reads an answer not given) does not hold.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.workflow import conditional_events, expressions
from engine.workflow.definition_model import CONDITION, CONDITION_MESSAGE_PREFIX
from engine.workflow.expressions import ExpressionError

MAX_ROUNDS = 10  # conditions set off in a row by one command (each may set off another)


def is_condition_message(name: str) -> bool:
    """Whether a message name is a condition handler's own: never routed from outside."""
    return name.startswith(CONDITION_MESSAGE_PREFIX)


def conditions_met(workflow: Any) -> list[str]:
    """The messages of the waiting condition handlers whose condition holds now."""
    data: dict[str, Any] | None = None
    found = []
    # the tasks waiting for an event, as SpiffWorkflow keeps them: not a walk of the case's
    # task tree on every run of the engine
    for task in list(workflow.top_workflow.event_manager.tasks.values()):
        if task.state != TaskState.WAITING:
            continue
        spec = task.task_spec
        when = ((getattr(spec, "extensions", None) or {}).get("properties") or {}).get(CONDITION)
        name = getattr(getattr(spec, "event_definition", None), "name", None)
        if not when or not isinstance(name, str) or not is_condition_message(name):
            continue
        if data is None:
            data = _latest_answers(workflow)
        try:
            holds = expressions.evaluate(when, data)
        except ExpressionError:
            continue
        if holds is True:
            found.append(name)
    return found


def _latest_answers(workflow: Any) -> dict[str, Any]:
    """What the step finished last, in the case or any subprocess of it, left behind (the
    workflow's own last task is the block's split while the block runs)."""
    from engine.workflow.runner import all_tasks  # the runner calls this module

    done = [task for task in all_tasks(workflow) if task.state == TaskState.COMPLETED]
    if not done:
        return {}
    last = max(done, key=lambda task: task.last_state_change)
    return {k: v for k, v in last.data.items() if not callable(v)}


def send_conditions(workflow: Any) -> bool:
    """Send each condition handler whose condition holds its message; whether any was."""
    names = conditions_met(workflow)
    for name in names:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name)))
    return bool(names)


def settle_conditions(workflow: Any) -> bool:
    """Send the condition handlers' messages whose condition holds, and set off the BPMN
    conditional events whose condition became true (engine.workflow.conditional_events);
    whether anything went off (the engine then runs again)."""
    sent = send_conditions(workflow)
    return conditional_events.settle(workflow) or sent

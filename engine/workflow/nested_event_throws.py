"""Errors and escalations thrown inside an embedded subprocess go to its event subprocesses
first (BPMN 2.0.2 §10.3.5, §10.5.6: the innermost handler catches).

SpiffWorkflow 3.2 (its spiff flavour) throws an error or escalation to every waiting catcher
of the case at once, whatever scope it was thrown in: a boundary event on the enclosing
subprocess would catch it beside (or instead of) the event subprocess inside. Each error and
escalation throw is wrapped here: walking out from the thrower, scope by scope, a boundary
event on the activity the throw came out of takes it first (SpiffWorkflow's own catch runs),
then the armed event subprocesses of that scope (engine.workflow.nested_event_subprocesses),
unless the throw came from inside one of them; at process level SpiffWorkflow and
engine.workflow.bpmn_events decide as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent

from engine.workflow.bpmn_events import _THROWING, _Throw, error_and_escalation_throws
from engine.workflow.nested_event_subprocesses import EventSubprocessArm


def route_nested_throws(specs: list[Any]) -> None:
    """Wrap each error and escalation throw of these (freshly parsed) specs so an armed
    event subprocess of an enclosing subprocess catches it when it is the innermost
    handler."""
    for definition in error_and_escalation_throws(specs):
        definition.throw = _routed(definition, definition.throw)


def _routed(definition: Any, throw: Callable[[Any], None]) -> Callable[[Any], None]:
    def throw_routed(my_task: Any) -> None:
        arms = _innermost_arms(my_task, BpmnEvent(definition))
        if not arms:
            throw(my_task)
            return
        expression = getattr(definition, "expression", None)
        payload = my_task.workflow.script_engine.evaluate(my_task, expression) \
            if expression is not None else None
        event = BpmnEvent(definition, payload=payload)
        token = _THROWING.set(_Throw(my_task, to_event_subprocesses=False))
        try:
            for arm in arms:
                arm.task_spec.catch(arm, event)
        finally:
            _THROWING.reset(token)
    return throw_routed


def _innermost_arms(thrower: Any, event: Any) -> list[Any]:
    """The armed starts of the innermost embedded subprocess whose event subprocess takes the
    throw; none when a boundary event nearer takes it, or no embedded subprocess does."""
    top = thrower.workflow.top_workflow
    waiting = list(top.event_manager.tasks.values())
    node, workflow, from_event_subprocess = thrower, thrower.workflow, False
    while workflow is not top:
        if any(task.parent is node.parent and task is not node
               and not isinstance(task.task_spec, EventSubprocessArm)
               and task.task_spec.catches(task, event) for task in waiting):
            return []  # a boundary event on the activity the throw came out of
        if not from_event_subprocess:
            arms = [task for task in waiting if task.workflow is workflow
                    and isinstance(task.task_spec, EventSubprocessArm)
                    and task.task_spec.event_definition.catches(task, event)]
            if arms:
                return arms
        holder = top.get_task_from_id(workflow.parent_task_id)
        from_event_subprocess = holder.task_spec.name in (
            getattr(holder.workflow.spec.start, "trigger_specs", None) or ())
        node, workflow = holder, holder.workflow
    return []
